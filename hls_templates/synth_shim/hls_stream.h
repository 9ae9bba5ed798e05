// Declarations of Vitis HLS's hls::stream for qnncc's clang synthesis-mode
// syntax check (see qnncc_synth_shim.h): the interface only, no bodies a
// synthesised design could not have (no containers, no printing).
#ifndef QNNCC_SYNTH_SHIM_HLS_STREAM_H
#define QNNCC_SYNTH_SHIM_HLS_STREAM_H

namespace hls {

template <typename T, int DEPTH = 0>
class stream {
 public:
  stream();
  explicit stream(const char* name);
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  T read();
  void read(T& value);
  bool read_nb(T& value);
  void write(const T& value);
  bool write_nb(const T& value);
  void operator>>(T& value);
  void operator<<(const T& value);
  bool empty() const;
  bool full() const;
};

}  // namespace hls

#endif  // QNNCC_SYNTH_SHIM_HLS_STREAM_H
