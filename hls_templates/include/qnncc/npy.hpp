// Minimal .npy reader/writer for C simulation test benches (not synthesised).
// Reads and writes little-endian int64 arrays in C order, format 1.0/2.0,
// enough for the integer tensors qnncc exchanges with its C++ simulation.
#ifndef QNNCC_NPY_HPP
#define QNNCC_NPY_HPP

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace qnncc {

struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<int64_t> data;
};

[[noreturn]] inline void npy_fail(const std::string& path, const std::string& why) {
  std::fprintf(stderr, "qnncc csim: %s: %s\n", path.c_str(), why.c_str());
  std::exit(2);
}

inline NpyArray npy_load_i64(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) npy_fail(path, "cannot open");
  char magic[8];
  f.read(magic, 8);
  if (!f || std::string(magic, 6) != "\x93NUMPY") npy_fail(path, "not a .npy file");
  std::size_t header_len = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    f.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    f.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::size_t>(b[3]) << 24);
  }
  std::string header(header_len, ' ');
  f.read(&header[0], static_cast<std::streamsize>(header_len));
  if (header.find("'descr': '<i8'") == std::string::npos) npy_fail(path, "dtype must be little-endian int64");
  if (header.find("'fortran_order': False") == std::string::npos) npy_fail(path, "must be C order");
  const std::size_t open = header.find('(', header.find("'shape'"));
  const std::size_t close = header.find(')', open);
  NpyArray arr;
  std::stringstream dims(header.substr(open + 1, close - open - 1));
  std::string item;
  std::size_t count = 1;
  while (std::getline(dims, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    arr.shape.push_back(static_cast<std::size_t>(std::stoull(item)));
    count *= arr.shape.back();
  }
  arr.data.resize(count);
  f.read(reinterpret_cast<char*>(arr.data.data()), static_cast<std::streamsize>(count * sizeof(int64_t)));
  if (!f) npy_fail(path, "truncated data");
  return arr;
}

inline void npy_save_i64(const std::string& path, const std::vector<std::size_t>& shape,
                         const std::vector<int64_t>& data) {
  std::string dims;
  for (std::size_t d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::ofstream f(path, std::ios::binary);
  if (!f) npy_fail(path, "cannot write");
  f.write("\x93NUMPY\x01\x00", 8);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  f.write(reinterpret_cast<const char*>(len), 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(int64_t)));
}

}  // namespace qnncc

#endif  // QNNCC_NPY_HPP
