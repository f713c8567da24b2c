"""The analysis worker: claims jobs, runs the transformer, commits under the job's fence."""
