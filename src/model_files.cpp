#include "olot/model_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "olot/error.h"

namespace olot {
namespace fs = std::filesystem;

namespace {

struct FileId {
  dev_t dev;
  ino_t ino;
  bool operator==(const FileId&) const = default;
};

FileId id_of(const struct stat& st) { return {st.st_dev, st.st_ino}; }

[[noreturn]] void fail_unreadable(const fs::path& path, int err) {
  fail(Exit::no_input, "cannot read model path", path.string() + " (" + std::strerror(err) + ")");
}

// stat(2) follows links, so a failure may be the link's fault rather than
// the path's: lstat tells a dangling link apart from a missing file.
[[noreturn]] void fail_stat(const fs::path& path, int err) {
  if (err == ELOOP) fail(Exit::no_input, "symbolic link loop", path.string());
  struct stat own;
  if (::lstat(path.c_str(), &own) == 0 && S_ISLNK(own.st_mode) && (err == ENOENT || err == ENOTDIR))
    fail(Exit::no_input, "dangling symbolic link", path.string());
  fail_unreadable(path, err);
}

struct stat stat_following_links(const fs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) fail_stat(path, errno);
  return st;
}

const char* special_file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  return "unknown file type";
}

[[noreturn]] void fail_special_file(const fs::path& path, mode_t mode) {
  fail(Exit::no_input, std::string("not a regular file or directory (") + special_file_kind(mode) + ")",
       path.string());
}

// stat succeeding says nothing about permissions; finding out now gives a
// clean exit 66 before any output is written instead of a failure mid-stream.
void require_readable_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) fail_unreadable(path, errno);
  ::close(fd);
}

class Excludes {
 public:
  explicit Excludes(const std::vector<std::string>& patterns) : patterns_(patterns) {}

  // No FNM_PATHNAME: "*.bin" then also matches "sub/w.bin"; the basename
  // check makes patterns without a '/' apply at every depth.
  bool match(const std::string& relative, const std::string& basename) const {
    return std::any_of(patterns_.begin(), patterns_.end(), [&](const std::string& pattern) {
      return fnmatch(pattern.c_str(), relative.c_str(), 0) == 0 ||
             fnmatch(pattern.c_str(), basename.c_str(), 0) == 0;
    });
  }

  // Lets "logs/" (and ".git/", as SPEC §2 spells it) name a directory.
  bool match_directory(const std::string& relative, const std::string& basename) const {
    return match(relative, basename) || match(relative + "/", basename + "/");
  }

 private:
  const std::vector<std::string>& patterns_;
};

struct WalkedFile {
  fs::path source;
  std::string relative;
  struct stat st;
};

using DirHandle = std::unique_ptr<DIR, int (*)(DIR*)>;

std::vector<std::string> directory_entry_names(const fs::path& dir) {
  DirHandle handle(::opendir(dir.c_str()), ::closedir);
  if (!handle) fail_unreadable(dir, errno);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(handle.get());
    if (!entry) break;
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  if (errno != 0) fail_unreadable(dir, errno);
  return names;
}

// Recursive walk that follows links to directories; `ancestors` holds the
// directories on the current walk path so a link back up is caught as a loop
// instead of recursing until the path is too long.
class DirectoryWalker {
 public:
  explicit DirectoryWalker(const ModelInputs& inputs) : excludes_(inputs.excludes), include_vcs_(inputs.include_vcs) {}

  std::vector<WalkedFile> walk(const fs::path& root, const struct stat& root_st) {
    files_.clear();
    ancestors_.assign(1, id_of(root_st));
    walk_directory(root, "");
    std::sort(files_.begin(), files_.end(),
              [](const WalkedFile& a, const WalkedFile& b) { return a.relative < b.relative; });
    return std::move(files_);
  }

 private:
  void walk_directory(const fs::path& dir, const std::string& relative_dir) {
    for (const std::string& name : directory_entry_names(dir)) {
      std::string relative = relative_dir.empty() ? name : relative_dir + "/" + name;
      visit(dir / name, relative, name);
    }
  }

  void visit(const fs::path& source, const std::string& relative, const std::string& name) {
    // Excludes are checked before stat so an excluded dangling link is simply skipped.
    if (excludes_.match(relative, name)) return;
    struct stat st = stat_following_links(source);
    if (S_ISDIR(st.st_mode)) {
      if (name == ".git" && !include_vcs_) return;
      if (excludes_.match_directory(relative, name)) return;
      enter_directory(source, relative, st);
    } else if (S_ISREG(st.st_mode)) {
      require_readable_file(source);
      files_.push_back({source, relative, st});
    } else {
      fail_special_file(source, st.st_mode);
    }
  }

  void enter_directory(const fs::path& source, const std::string& relative, const struct stat& st) {
    if (std::find(ancestors_.begin(), ancestors_.end(), id_of(st)) != ancestors_.end())
      fail(Exit::no_input, "symbolic link loop", source.string());
    ancestors_.push_back(id_of(st));
    walk_directory(source, relative);
    ancestors_.pop_back();
  }

  Excludes excludes_;
  bool include_vcs_;
  std::vector<FileId> ancestors_;
  std::vector<WalkedFile> files_;
};

ModelFile make_model_file(const fs::path& source, const std::string& inlayer, const struct stat& st) {
  return ModelFile{source, inlayer, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec),
                   false};
}

// Where a name sits, with its directories resolved but not the name itself,
// so a symlinked README.md and the blob it points to stay different places.
fs::path location_of(const fs::path& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) return path.lexically_normal();
  fs::path parent = fs::weakly_canonical(absolute.parent_path(), ec);
  if (ec) return absolute.lexically_normal();
  return parent / absolute.filename();
}

struct Modelcard {
  fs::path path;
  struct stat st;
};

Modelcard stat_modelcard(const fs::path& path) {
  struct stat st = stat_following_links(path);
  if (S_ISDIR(st.st_mode)) fail(Exit::usage, "the modelcard must be a file, not a directory", path.string());
  if (!S_ISREG(st.st_mode)) fail_special_file(path, st.st_mode);
  require_readable_file(path);
  return {path, st};
}

// SPEC §6.1: a modelcard inside a --model directory is taken out of it. The
// file at the modelcard's own location is the one meant; only if none is
// there (the card was named through a hard link or another mount) does the
// same (dev, ino) decide. This keeps a Hugging Face snapshot's second link to
// the same deduplicated blob (docs/README.md next to README.md) in place.
void remove_modelcard(std::vector<WalkedFile>& files, const Modelcard& card) {
  auto same_file = [&](const WalkedFile& f) { return id_of(f.st) == id_of(card.st); };
  const fs::path card_location = location_of(card.path);
  auto same_location = [&](const WalkedFile& f) { return same_file(f) && location_of(f.source) == card_location; };
  if (std::any_of(files.begin(), files.end(), same_location))
    std::erase_if(files, same_location);
  else
    std::erase_if(files, same_file);
}

// Two files on one path, or a file where another file needs a directory,
// cannot both be in the image: unpacking would silently keep only one.
class PathConflicts {
 public:
  void add(const ModelFile& file) {
    check_free(file.inlayer, file, files_, "two model files map to the same path");
    check_free(file.inlayer, file, directories_, directory_conflict);
    files_.emplace(file.inlayer, file.source.string());
    for (size_t slash = file.inlayer.find('/'); slash != std::string::npos;
         slash = file.inlayer.find('/', slash + 1)) {
      std::string directory = file.inlayer.substr(0, slash);
      check_free(directory, file, files_, directory_conflict);
      directories_.emplace(std::move(directory), file.source.string());
    }
  }

 private:
  using Owners = std::unordered_map<std::string, std::string>;  // in-layer path -> source
  static constexpr const char* directory_conflict = "a model file and a model directory map to the same path";

  static void check_free(const std::string& inlayer, const ModelFile& file, const Owners& taken, const char* what) {
    auto it = taken.find(inlayer);
    if (it != taken.end())
      fail(Exit::usage, what, "/" + inlayer + " (" + it->second + " and " + file.source.string() + ")");
  }

  Owners files_;
  Owners directories_;
};

}  // namespace

std::string normalize_prefix(std::string_view prefix) {
  std::string normalized;
  size_t pos = 0;
  while (pos <= prefix.size()) {
    size_t slash = prefix.find('/', pos);
    if (slash == std::string_view::npos) slash = prefix.size();
    std::string_view component = prefix.substr(pos, slash - pos);
    if (component == "..") fail(Exit::usage, "--prefix must not contain '..'", std::string(prefix));
    if (!component.empty() && component != ".") {
      normalized += component;
      normalized += '/';
    }
    pos = slash + 1;
  }
  return normalized;
}

std::vector<ModelFile> collect_model_files(const ModelInputs& inputs) {
  const std::string prefix = normalize_prefix(inputs.prefix);
  std::optional<Modelcard> card;
  if (inputs.modelcard) card = stat_modelcard(*inputs.modelcard);

  const Excludes excludes(inputs.excludes);
  DirectoryWalker walker(inputs);
  std::vector<ModelFile> result;
  for (const fs::path& path : inputs.paths) {
    struct stat st = stat_following_links(path);
    if (S_ISDIR(st.st_mode)) {
      std::vector<WalkedFile> files = walker.walk(path, st);
      if (card) remove_modelcard(files, *card);
      for (const WalkedFile& f : files) result.push_back(make_model_file(f.source, prefix + f.relative, f.st));
    } else if (S_ISREG(st.st_mode)) {
      std::string basename = path.filename().string();
      if (excludes.match(basename, basename)) continue;
      require_readable_file(path);
      result.push_back(make_model_file(path, prefix + basename, st));
    } else {
      fail_special_file(path, st.st_mode);
    }
  }
  if (card) {
    result.push_back(make_model_file(card->path, prefix + card->path.filename().string(), card->st));
    result.back().modelcard = true;
  }

  PathConflicts conflicts;
  for (const ModelFile& file : result) conflicts.add(file);
  return result;
}

}  // namespace olot
