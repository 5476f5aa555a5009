// olot-filter: the one place where errors become a message and an exit code.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "olot/error.h"
#include "olot/options.h"
#include "olot/output.h"
#include "olot/pipeline.h"

int main(int argc, char** argv) {
  // glibc raises its mmap threshold to the size of each large block freed,
  // so after the first JSON parser's buffers the next ones would come from
  // the heap and stay resident when freed; a fixed threshold gives them back
  // (SPEC §11's 32 MiB peak).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  olot::install_signal_handlers();
  try {
    olot::Options options = olot::parse_options(argc, argv, std::getenv("SOURCE_DATE_EPOCH"));
    if (!options.print_and_exit.empty()) {
      std::fputs(options.print_and_exit.c_str(), stdout);
      return std::fflush(stdout) == 0 ? 0 : static_cast<int>(olot::Exit::io);
    }
    olot::run(options);
    return 0;
  } catch (const olot::Error& e) {
    std::fprintf(stderr, "olot-filter: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "olot-filter: out of memory\n");
    return static_cast<int>(olot::Exit::software);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "olot-filter: internal error: %s\n", e.what());
    return static_cast<int>(olot::Exit::software);
  }
}
