#include "olot/digest_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>

#include "olot/error.h"

namespace olot {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view header_line = "olot-filter-cache v1\n";
constexpr std::string_view end_tag = "end\t";
constexpr size_t record_fields = 11;

// ---- file descriptors ----

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  // Closes now, so that a failing close (NFS reports write errors there) is seen.
  bool close() {
    int fd = std::exchange(fd_, -1);
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

// Removes the temp file unless the rename made it the cache.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void release() { path_.clear(); }

 private:
  std::string path_;
};

std::string errno_text() { return std::strerror(errno); }

// nullopt: the file does not exist. Throws the reason if it cannot be read.
std::optional<std::string> read_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error(errno_text());
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) return text;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(errno_text());
    text.append(buffer, static_cast<size_t>(n));
  }
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(errno_text());
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// Makes the rename itself durable; a failure here loses at most this save.
void sync_directory(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

// Temp file beside the target, so rename() never crosses a file system and
// readers see either the old file or the new one.
void replace_file_atomically(const fs::path& target, std::string_view bytes) {
  std::string temp = (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) throw std::runtime_error(errno_text());
  TempFileGuard guard(temp);
  write_all(fd.get(), bytes);
  if (::fsync(fd.get()) != 0 || !fd.close()) throw std::runtime_error(errno_text());
  if (::rename(temp.c_str(), target.c_str()) != 0) throw std::runtime_error(errno_text());
  guard.release();
  sync_directory(target.parent_path());
}

// ---- fields ----

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Options hold paths, which may contain tabs and newlines.
std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F || c == '\\') {
      out += "\\x";
      out += hex_digits[byte >> 4];
      out += hex_digits[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 3 >= text.size()) return std::nullopt;
    if (text[i + 1] != 'x') return std::nullopt;
    int high = hex_value(text[i + 2]), low = hex_value(text[i + 3]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 3;
  }
  return out;
}

std::string xxh_hex(const Xxh128& check) { return to_hex(check.data(), check.size()); }

std::optional<Xxh128> parse_xxh(std::string_view text) {
  Xxh128 out{};
  if (text.size() != 2 * out.size()) return std::nullopt;
  for (size_t i = 0; i < out.size(); ++i) {
    int high = hex_value(text[2 * i]), low = hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return out;
}

template <typename Int>
std::optional<Int> parse_int(std::string_view text) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split(std::string_view line, char separator) {
  std::vector<std::string_view> fields;
  for (;;) {
    auto at = line.find(separator);
    fields.push_back(line.substr(0, at));
    if (at == std::string_view::npos) return fields;
    line.remove_prefix(at + 1);
  }
}

std::string checksum_of(std::string_view bytes) {
  Xxh3Hasher hasher;
  hasher.write(bytes.data(), bytes.size());
  return xxh_hex(hasher.finish());
}

// ---- records ----

std::string record_line(const CacheKey& key, const CacheEntry& entry) {
  std::string line;
  for (auto number : {key.device, key.inode, key.size}) line += std::to_string(number) + '\t';
  for (auto number : {key.mtime_ns, key.ctime_ns}) line += std::to_string(number) + '\t';
  line += escape(key.options) + '\t';
  for (const Digest* digest : {&entry.digest, &entry.diff_id, &entry.content}) line += digest->str() + '\t';
  line += xxh_hex(entry.check) + '\t' + std::to_string(entry.layer_size) + '\n';
  return line;
}

// Throws the reason the line is not a record.
std::pair<CacheKey, CacheEntry> parse_record(std::string_view line) {
  auto fields = split(line, '\t');
  if (fields.size() != record_fields) throw std::runtime_error("wrong field count");
  auto require = [](auto value, const char* what) {
    if (!value) throw std::runtime_error(std::string("bad ") + what);
    return *value;
  };
  CacheKey key;
  key.device = require(parse_int<uint64_t>(fields[0]), "device");
  key.inode = require(parse_int<uint64_t>(fields[1]), "inode");
  key.size = require(parse_int<uint64_t>(fields[2]), "size");
  key.mtime_ns = require(parse_int<int64_t>(fields[3]), "mtime");
  key.ctime_ns = require(parse_int<int64_t>(fields[4]), "ctime");
  key.options = require(unescape(fields[5]), "options");
  CacheEntry entry;
  entry.digest = require(Digest::parse(fields[6]), "digest");
  entry.diff_id = require(Digest::parse(fields[7]), "diff_id");
  entry.content = require(Digest::parse(fields[8]), "content digest");
  entry.check = require(parse_xxh(fields[9]), "XXH3-128");
  entry.layer_size = require(parse_int<uint64_t>(fields[10]), "layer size");
  return {std::move(key), std::move(entry)};
}

// "end\tCOUNT\tCHECKSUM\n" must be the last line and vouch for all before it.
void check_end_line(std::string_view text, size_t end_start, size_t records) {
  auto newline = text.find('\n', end_start);
  if (newline == std::string_view::npos) throw std::runtime_error("truncated end line");
  if (newline + 1 != text.size()) throw std::runtime_error("data after the end line");
  auto fields = split(text.substr(end_start + end_tag.size(), newline - end_start - end_tag.size()), '\t');
  if (fields.size() != 2) throw std::runtime_error("bad end line");
  if (parse_int<uint64_t>(fields[0]) != records) throw std::runtime_error("wrong record count");
  if (fields[1] != checksum_of(text.substr(0, end_start))) throw std::runtime_error("checksum mismatch");
}

CacheRecords parse_or_throw(std::string_view text) {
  if (!text.starts_with(header_line)) throw std::runtime_error("wrong header");
  CacheRecords records;
  size_t at = header_line.size();
  for (size_t line_number = 2;; ++line_number) {
    if (at == text.size()) throw std::runtime_error("truncated: no end line");
    if (text.substr(at).starts_with(end_tag)) {
      check_end_line(text, at, records.size());
      return records;
    }
    auto newline = text.find('\n', at);
    if (newline == std::string_view::npos) throw std::runtime_error("truncated: no end line");
    try {
      records.push_back(parse_record(text.substr(at, newline - at)));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("line " + std::to_string(line_number) + ": " + e.what());
    }
    at = newline + 1;
  }
}

void hash_combine(size_t& seed, size_t value) { seed ^= value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2); }

}  // namespace

std::string serialize_cache(const CacheRecords& records) {
  std::string text(header_line);
  for (const auto& [key, entry] : records) text += record_line(key, entry);
  text += std::string(end_tag) + std::to_string(records.size()) + '\t' + checksum_of(text) + '\n';
  return text;
}

std::optional<CacheRecords> parse_cache(std::string_view text, std::string& reason) {
  try {
    return parse_or_throw(text);
  } catch (const std::runtime_error& e) {
    reason = e.what();
    return std::nullopt;
  }
}

CacheKey cache_key_for(const fs::path& file, std::string options) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) fail(Exit::no_input, "cannot read model file", file.string() + " (" + errno_text() + ")");
  CacheKey key;
  key.device = static_cast<uint64_t>(st.st_dev);
  key.inode = static_cast<uint64_t>(st.st_ino);
  key.size = static_cast<uint64_t>(st.st_size);
  key.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  key.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  key.options = std::move(options);
  return key;
}

size_t CacheKeyHash::operator()(const CacheKey& key) const {
  size_t seed = std::hash<std::string>()(key.options);
  for (auto number : {key.device, key.inode, key.size}) hash_combine(seed, std::hash<uint64_t>()(number));
  for (auto number : {key.mtime_ns, key.ctime_ns}) hash_combine(seed, std::hash<int64_t>()(number));
  return seed;
}

DigestCache DigestCache::open(const fs::path& dir, Warnings& warnings, size_t max_entries) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    warnings.warn("cannot use digest cache directory: " + dir.string() + " (" + error.message() + ")");
    return DigestCache();
  }
  DigestCache cache(dir, max_entries);
  cache.load(warnings);
  return cache;
}

DigestCache::DigestCache(DigestCache&& other) noexcept
    : dir_(std::move(other.dir_)),
      max_entries_(other.max_entries_),
      slots_(std::move(other.slots_)),
      next_use_(other.next_use_),
      dirty_(other.dirty_) {}

DigestCache& DigestCache::operator=(DigestCache&& other) noexcept {
  if (this == &other) return *this;
  std::scoped_lock lock(mutex_, other.mutex_);
  dir_ = std::move(other.dir_);
  max_entries_ = other.max_entries_;
  slots_ = std::move(other.slots_);
  next_use_ = other.next_use_;
  dirty_ = other.dirty_;
  return *this;
}

void DigestCache::load(Warnings& warnings) {
  std::optional<std::string> text;
  try {
    text = read_file(file());
  } catch (const std::runtime_error& e) {
    warnings.warn("ignoring unreadable digest cache: " + file().string() + " (" + e.what() + ")");
    return;
  }
  if (!text) return;
  std::string reason;
  auto records = parse_cache(*text, reason);
  if (!records) {
    warnings.warn("ignoring corrupt digest cache: " + file().string() + " (" + reason + ")");
    return;
  }
  for (auto& [key, entry] : *records) insert_loaded(std::move(key), std::move(entry));
}

void DigestCache::insert_loaded(CacheKey key, CacheEntry entry) {
  slots_.insert_or_assign(std::move(key), Slot{std::move(entry), next_use_++});
}

std::optional<CacheEntry> DigestCache::find(const CacheKey& key) const {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return std::nullopt;
  it->second.last_use = next_use_++;
  dirty_ = true;
  return it->second.entry;
}

void DigestCache::put(const CacheKey& key, const CacheEntry& entry) {
  std::lock_guard lock(mutex_);
  slots_.insert_or_assign(key, Slot{entry, next_use_++});
  dirty_ = true;
}

size_t DigestCache::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

// The most recently used max_entries_ slots, oldest first. Caller holds mutex_.
std::string DigestCache::serialize() const {
  std::vector<const std::pair<const CacheKey, Slot>*> order;
  order.reserve(slots_.size());
  for (const auto& slot : slots_) order.push_back(&slot);
  std::sort(order.begin(), order.end(), [](auto a, auto b) { return a->second.last_use < b->second.last_use; });
  size_t skip = order.size() > max_entries_ ? order.size() - max_entries_ : 0;
  CacheRecords records;
  records.reserve(order.size() - skip);
  for (size_t i = skip; i < order.size(); ++i) records.emplace_back(order[i]->first, order[i]->second.entry);
  return serialize_cache(records);
}

void DigestCache::save(Warnings& warnings) const {
  if (dir_.empty()) return;
  std::string text;
  {
    std::lock_guard lock(mutex_);
    if (!dirty_) return;
    text = serialize();
  }
  try {
    replace_file_atomically(file(), text);
  } catch (const std::runtime_error& e) {
    warnings.warn("cannot save digest cache: " + file().string() + " (" + e.what() + ")");
  }
}

}  // namespace olot
