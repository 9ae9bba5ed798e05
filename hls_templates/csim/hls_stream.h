// qnncc's stand-in for Vitis HLS's hls_stream.h, for C simulation with g++.
// It lives in hls_templates/csim/, a folder only qnncc's g++ simulation puts
// on the include path: Vitis HLS (csim and synthesis) never sees it and uses
// its own header. It implements the subset of hls::stream that qnncc's
// library and generated code use.
// A read from an empty stream is a dataflow error (a producer wrote too few
// words): it prints the stream's name and aborts instead of returning garbage.
#ifndef QNNCC_HLS_STREAM_H
#define QNNCC_HLS_STREAM_H

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>

namespace hls {

template <typename T>
class stream {
 public:
  stream() : name_("stream") {}
  explicit stream(const char* name) : name_(name) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  void write(const T& value) { queue_.push_back(value); }
  bool write_nb(const T& value) {
    write(value);
    return true;
  }
  T read() {
    if (queue_.empty()) {
      std::fprintf(stderr, "qnncc csim: read from empty stream '%s'\n", name_.c_str());
      std::abort();
    }
    T value = queue_.front();
    queue_.pop_front();
    return value;
  }
  bool read_nb(T& value) {
    if (queue_.empty()) return false;
    value = read();
    return true;
  }
  void read(T& value) { value = read(); }
  void operator<<(const T& value) { write(value); }
  void operator>>(T& value) { value = read(); }
  bool empty() const { return queue_.empty(); }
  bool full() const { return false; }
  std::size_t size() const { return queue_.size(); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::deque<T> queue_;
};

}  // namespace hls

#endif  // QNNCC_HLS_STREAM_H
