// Errors carry their exit category (SPEC §9); main() is the one place that
// turns them into a message and an exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace olot {

// sysexits(3) values, SPEC §9.
enum class Exit : int {
  ok = 0,
  usage = 64,        // EX_USAGE
  data = 65,         // EX_DATAERR: bad tar, JSON, digest, graph, media type
  no_input = 66,     // EX_NOINPUT: a model path missing or unreadable
  software = 70,     // EX_SOFTWARE: internal error
  cant_create = 73,  // EX_CANTCREAT: cannot create --output
  io = 74,           // EX_IOERR
};

class Error : public std::runtime_error {
 public:
  Error(Exit code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Exit code() const { return code_; }

 private:
  Exit code_;
};

// "<what went wrong>: <which entry, document or file>" as SPEC §9 shapes it.
[[noreturn]] inline void fail(Exit code, const std::string& what, const std::string& where) {
  throw Error(code, what + ": " + where);
}

}  // namespace olot
