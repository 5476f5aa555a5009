#include "olot/output.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "olot/error.h"

namespace olot {

namespace {

// The one piece of process-wide state: a signal handler may only touch
// memory it can reach without locks, so the temporary files' names live
// here while they exist (the output, and the small files written beside it).
constexpr size_t max_temps = 4;
char signal_temp_paths[max_temps][4096];

volatile sig_atomic_t signal_status_fd = -1;

void on_fatal_signal(int sig) {
  for (auto& path : signal_temp_paths)
    if (path[0]) ::unlink(path);
  if (signal_status_fd >= 0) {
    static const char erase[] = "\r\033[K";
    [[maybe_unused]] ssize_t n = ::write(signal_status_fd, erase, sizeof erase - 1);
  }
  ::_exit(128 + sig);
}

void register_temp(const std::string& path) {
  for (auto& slot : signal_temp_paths) {
    if (slot[0] || path.size() >= sizeof slot) continue;
    std::memcpy(slot, path.c_str(), path.size() + 1);
    return;
  }
}

void unregister_temp(const std::string& path) {
  for (auto& slot : signal_temp_paths)
    if (path == slot) slot[0] = '\0';
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  if (path == "-") fail(Exit::usage, "this file cannot be standard output", path);
  Output out(path);
  out.write(bytes);
  out.commit();
}

void raise_pipe_buffer(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
  ::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

void erase_status_line_on_signal(int fd) { signal_status_fd = fd; }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

Output::Output(const std::string& path) : path_(path) {
  if (path == "-") {
    name_ = "stdout";
    raise_pipe_buffer(fd_);
    return;
  }
  name_ = path;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // A FIFO (the skopeo recipe) or a device is written in place: there is
    // no file to replace atomically.
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) fail(Exit::cant_create, "cannot open output", path + " (" + std::strerror(errno) + ")");
    raise_pipe_buffer(fd_);
    in_place_ = true;
    return;
  }
  // A symlink (e.g. /dev/stdout redirected to a file) is replaced at its
  // target, never itself.
  std::error_code ec;
  auto resolved = std::filesystem::weakly_canonical(path, ec);
  if (!ec) path_ = resolved.string();
  auto parent = std::filesystem::path(path_).parent_path();
  std::string templ = (parent.empty() ? std::string(".") : parent.string()) + "/." +
                      std::filesystem::path(path_).filename().string() + ".olot-tmp.XXXXXX";
  fd_ = ::mkstemp(templ.data());
  if (fd_ < 0) fail(Exit::cant_create, "cannot create output", path + " (" + std::strerror(errno) + ")");
  temp_ = templ;
  register_temp(temp_);
  ::fchmod(fd_, 0644);
}

Output::~Output() {
  if (in_place_) ::close(fd_);
  if (temp_.empty()) return;
  ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
  unregister_temp(temp_);
}

// Tar headers and padding come as separate small writes; gathered, an input
// of a million tiny blobs takes a third of the system calls. Large writes go
// straight through, uncopied.
void Output::write(const void* data, size_t size) {
  constexpr size_t gather_below = 16 << 10, gather_capacity = 256 << 10;
  if (size >= gather_below) {
    flush();
    write_through(data, size);
    return;
  }
  if (gathered_.size() + size > gather_capacity) flush();
  gathered_.append(static_cast<const char*>(data), size);
}

void Output::flush() {
  write_through(gathered_.data(), gathered_.size());
  gathered_.clear();
}

void Output::write_through(const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(Exit::io, "cannot write output", name_ + " (" + std::strerror(errno) + ")");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void Output::commit() {
  flush();
  if (temp_.empty()) return;
  if (::fsync(fd_) != 0 || ::rename(temp_.c_str(), path_.c_str()) != 0)
    fail(Exit::cant_create, "cannot create output", path_ + " (" + std::strerror(errno) + ")");
  committed_ = true;
  unregister_temp(temp_);
}

}  // namespace olot
