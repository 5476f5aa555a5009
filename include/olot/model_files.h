// Which model files go into the image, under which in-image path, in which
// order (SPEC §6.1). This is a pure planning step: it stats and walks, it
// never reads file contents.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace olot {

struct ModelInputs {
  std::vector<std::filesystem::path> paths;  // --model and bare args, in order
  std::optional<std::filesystem::path> modelcard;
  std::string prefix = "/models";     // --prefix
  std::vector<std::string> excludes;  // --exclude GLOBs
  bool include_vcs = false;           // --include-vcs
};

struct ModelFile {
  std::filesystem::path source;  // path as given/walked (a symlink stays a symlink path; open() follows it)
  std::string inlayer;           // tar name without leading '/', e.g. "models/sub/w.bin"
  uint64_t size = 0;
  int64_t mtime = 0;  // seconds, of the target (stat, following links)
  bool modelcard = false;
};

// Files in layer order: each path in argument order; inside a directory,
// regular files sorted bytewise by relative path; the modelcard last.
// Throws Error: Exit::no_input for missing/unreadable paths, dangling or
// looping links and special files; Exit::usage for a bad prefix, a directory
// given as modelcard, or two files landing on the same in-image path.
std::vector<ModelFile> collect_model_files(const ModelInputs& inputs);

// "/models", "models", "/models/" → "models/"; "/" or "" → "" (names at the
// root). Throws Error(Exit::usage) for a ".." component.
std::string normalize_prefix(std::string_view prefix);

}  // namespace olot
