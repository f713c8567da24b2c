// SHA-256 of a File or Blob for the direct upload, which declares it (the worker checks it
// against the stored bytes). WebCrypto for files up to 128 MiB (its digest needs the whole file
// in memory); larger files, or pages without WebCrypto (plain http off loopback), are read in
// 4 MiB slices through the implementation below (FIPS 180-4).
"use strict";
(function () {
  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  var SLICE_BYTES = 4 * 1024 * 1024;
  var WHOLE_FILE_MAX_BYTES = 128 * 1024 * 1024;

  function Sha256() {
    this.h = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    this.w = new Int32Array(64);
    this.tail = new Uint8Array(64);
    this.tailLength = 0;
    this.length = 0;
  }

  // Compresses every whole 64-byte block of data[offset, end) into h.
  function compress(h, w, data, offset, end) {
    var a, b, c, d, e, f, g, k, i, x, y, t1, t2;
    var h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7];
    for (; offset + 64 <= end; offset += 64) {
      for (i = 0; i < 16; i++) {
        x = offset + 4 * i;
        w[i] = (data[x] << 24) | (data[x + 1] << 16) | (data[x + 2] << 8) | data[x + 3];
      }
      for (i = 16; i < 64; i++) {
        x = w[i - 15];
        y = w[i - 2];
        w[i] = (((((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) + w[i - 16]) |
          0) + (((((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) + w[i - 7]) |
          0) | 0;
      }
      a = h0; b = h1; c = h2; d = h3; e = h4; f = h5; g = h6; k = h7;
      for (i = 0; i < 64; i++) {
        t1 = (((((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
          ((e & f) ^ (~e & g))) | 0) + ((k + ((K[i] + w[i]) | 0)) | 0) | 0;
        t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & b) ^ (a & c) ^ (b & c))) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + k) | 0;
    }
    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;
    return offset;
  }

  Sha256.prototype.update = function (bytes) {
    var i = 0, n = bytes.length;
    this.length += n;
    if (this.tailLength > 0) {
      while (this.tailLength < 64 && i < n) { this.tail[this.tailLength++] = bytes[i++]; }
      if (this.tailLength < 64) { return; }
      compress(this.h, this.w, this.tail, 0, 64);
      this.tailLength = 0;
    }
    i = compress(this.h, this.w, bytes, i, n);
    while (i < n) { this.tail[this.tailLength++] = bytes[i++]; }
  };

  Sha256.prototype.hex = function () {
    var high = Math.floor(this.length / 0x20000000), low = (this.length % 0x20000000) * 8;
    var pad = new Uint8Array(((this.tailLength < 56 ? 56 : 120) - this.tailLength) + 8);
    pad[0] = 0x80;
    var end = pad.length - 8;
    [high, low].forEach(function (word, index) {
      for (var j = 0; j < 4; j++) { pad[end + 4 * index + j] = (word >>> (24 - 8 * j)) & 0xff; }
    });
    this.update(pad);
    return Array.prototype.map.call(this.h, function (word) {
      return ("0000000" + (word >>> 0).toString(16)).slice(-8);
    }).join("");
  };

  // onProgress(bytesRead, total); onDone(hexDigest); onFail(error)
  function hashInSlices(blob, onProgress, onDone, onFail) {
    var hash = new Sha256(), offset = 0;
    function next() {
      if (offset >= blob.size) { onDone(hash.hex()); return; }
      var end = Math.min(offset + SLICE_BYTES, blob.size);
      blob.slice(offset, end).arrayBuffer().then(function (buffer) {
        hash.update(new Uint8Array(buffer));
        offset = end;
        onProgress(offset, blob.size);
        next();
      }, onFail);
    }
    next();
  }

  // WebCrypto (native, many times faster) when the page is a secure context (https or
  // loopback) and the file is small enough to be read whole; else the slices above.
  function hashBlob(blob, onProgress, onDone, onFail) {
    var subtle = window.crypto && window.crypto.subtle;
    if (!subtle || blob.size > WHOLE_FILE_MAX_BYTES) {
      hashInSlices(blob, onProgress, onDone, onFail);
      return;
    }
    blob.arrayBuffer().then(function (buffer) {
      return subtle.digest("SHA-256", buffer);
    }).then(function (digest) {
      onProgress(blob.size, blob.size);
      onDone(Array.prototype.map.call(new Uint8Array(digest), function (byte) {
        return ("0" + byte.toString(16)).slice(-2);
      }).join(""));
    }, onFail);
  }

  hashBlob.inSlices = hashInSlices;
  window.cmdSha256 = hashBlob;
})();
