// Parameter tables (weights, thresholds, channel parameters) read at C simulation run time.
//
// qnncc's C++ simulation does not compile the tables into the program: a
// parameter header declares the table and fills it before main() from the
// binary file $QNNCC_PARAM_DIR/<name>, so the object files do not depend on
// the values (g++ time does not grow with the weight count, and a layer of the
// same shape is compiled once). Never included by the code Vitis HLS
// synthesises: there the tables are ROM arrays with initialisers.
//
// File layout: `count` elements in table (C) order, each as (W + 63) / 64
// little-endian 64-bit chunks of its two's complement bit pattern, chunk 0
// holding bits 0..63 (qnncc.codegen.hls.param_files writes it).
#ifndef QNNCC_PARAM_FILE_HPP
#define QNNCC_PARAM_FILE_HPP

#include <ap_int.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace qnncc {

// Bytes of the file $QNNCC_PARAM_DIR/name, which must hold exactly `bytes` bytes (exits with a message otherwise).
inline std::vector<unsigned char> read_param_file(const char* name, std::size_t bytes) {
  const char* dir = std::getenv("QNNCC_PARAM_DIR");
  const std::string path = std::string(dir ? dir : ".") + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "qnncc csim: cannot open parameter file %s (QNNCC_PARAM_DIR)\n", path.c_str());
    std::exit(2);
  }
  std::vector<unsigned char> data(bytes + 1);
  const std::size_t got = std::fread(data.data(), 1, bytes + 1, f);
  std::fclose(f);
  if (got != bytes) {
    std::fprintf(stderr, "qnncc csim: parameter file %s holds %zu%s bytes, expected %zu\n", path.c_str(), got,
                 got > bytes ? " or more" : "", bytes);
    std::exit(2);
  }
  data.resize(bytes);
  return data;
}

// Fill `count` elements of W bits at dst from the file `name` (layout above); returns true.
template <int W, typename T>
bool load_param_elems(T* dst, std::size_t count, const char* name) {
  static const int CHUNKS = (W + 63) / 64;
  const std::vector<unsigned char> data = read_param_file(name, count * CHUNKS * 8);
  for (std::size_t i = 0; i < count; i++) {
    ap_uint<64 * CHUNKS> word = 0;
    for (int k = 0; k < CHUNKS; k++) {
      uint64_t chunk = 0;
      for (int b = 7; b >= 0; b--) chunk = (chunk << 8) | data[(i * CHUNKS + k) * 8 + b];
      word(64 * k + 63, 64 * k) = chunk;
    }
    dst[i](W - 1, 0) = word(W - 1, 0);
  }
  return true;
}

template <int W>
bool load_param_file(ap_uint<W>* dst, std::size_t count, const char* name) {
  return load_param_elems<W>(dst, count, name);
}

template <int W>
bool load_param_file(ap_int<W>* dst, std::size_t count, const char* name) {
  return load_param_elems<W>(dst, count, name);
}

}  // namespace qnncc

#endif  // QNNCC_PARAM_FILE_HPP
