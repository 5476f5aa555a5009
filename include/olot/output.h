// Where the output tar goes: stdout, or a temporary file beside --output
// that is renamed into place only on success and removed on any failure,
// including SIGINT and SIGTERM.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "olot/byte_sink.h"

namespace olot {

class Output final : public ByteSink {
 public:
  // "-" is stdout; an existing FIFO or device is written in place.
  // Throws Error(Exit::cant_create) if the file cannot be made.
  explicit Output(const std::string& path);
  ~Output() override;  // removes the temporary file unless committed
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // Writes everything (small writes gathered until the next large one or
  // commit) or throws Error(Exit::io).
  void write(const void* data, size_t size) override;
  using ByteSink::write;
  // Flushes, and renames the temporary file into place; without it the
  // gathered bytes never reach the output.
  void commit();
  const std::string& name() const { return name_; }

 private:
  void flush();
  void write_through(const void* data, size_t size);
  int fd_ = 1;
  std::string gathered_;
  std::string path_, temp_, name_;
  bool committed_ = false;
  bool in_place_ = false;  // a FIFO or device, written directly
};

// A small file written whole: a temporary file beside it, renamed on success.
void write_file_atomically(const std::string& path, std::string_view bytes);

// Raises a pipe's buffer to 1 MiB so each side moves large blocks per
// system call; does nothing for other files, and failure is harmless.
void raise_pipe_buffer(int fd);

// While a status line is drawn on `fd`, SIGINT and SIGTERM erase it before
// exiting; -1 when none is drawn.
void erase_status_line_on_signal(int fd);

// Makes SIGINT and SIGTERM remove the registered temporary file and exit
// with 130/143; makes a closed reader an EPIPE error instead of SIGPIPE.
void install_signal_handlers();

}  // namespace olot
