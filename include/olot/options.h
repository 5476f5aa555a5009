// The command line (SPEC §2), parsed into one plain struct.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "olot/layer.h"
#include "olot/model_files.h"

namespace olot {

struct Platform {
  std::string os, architecture, variant;  // variant empty = any
  std::string str() const;
};

struct Options {
  ModelInputs model;
  uint64_t pack_small = 0;
  std::vector<std::pair<std::string, std::string>> labels, annotations;
  bool add_modelpack = false;
  std::vector<std::string> refs;
  std::vector<Platform> platforms;
  std::optional<std::string> tag;
  std::optional<int64_t> mtime;  // --mtime or SOURCE_DATE_EPOCH
  Compression compression = Compression::none;
  bool no_convert = false;
  bool no_verify = false;
  bool allow_missing_blobs = false;
  uint64_t max_json_size = 16 << 20;
  std::string input = "-", output = "-";
  std::optional<std::filesystem::path> digest_file, report, cache;
  bool dry_run = false;
  std::optional<bool> progress;  // unset: on when stderr is a terminal
  int verbosity = 0;             // -1 quiet, 0 normal, 1+ verbose

  // What main() should do instead of running, when not empty.
  std::string print_and_exit;
};

// Parses argv; throws Error(Exit::usage) on bad usage. `environment_epoch`
// is SOURCE_DATE_EPOCH's value if set.
Options parse_options(int argc, const char* const* argv, const char* environment_epoch);

std::string help_text();

}  // namespace olot
