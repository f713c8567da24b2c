"""Server-rendered pages for analysts and auditors, on the API's data and access rules."""
