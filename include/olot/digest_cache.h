// The --cache digest cache (SPEC §10): what the first pass computes for a
// model layer, remembered per file identity, so a warm run skips hashing and
// reads each model byte once (the writing pass still re-checks with XXH3).
//
// DIR/olot-filter-cache.v1 is a text file:
//   olot-filter-cache v1
//   DEV \t INO \t SIZE \t MTIME_NS \t CTIME_NS \t OPTIONS \t DIGEST \t DIFF_ID \t CONTENT \t XXH128 \t LAYER_SIZE
//   ...                       (oldest use first; OPTIONS escapes '\\', controls as \xHH)
//   end \t RECORDS \t XXH128 of every byte above
// Anything that does not parse exactly, or a missing or wrong end line
// (a truncated write, a concurrent editor), makes the whole file ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "olot/digest.h"
#include "olot/warnings.h"

namespace olot {

// Identifies one model layer's inputs.
struct CacheKey {
  uint64_t device = 0, inode = 0, size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  // Everything else the layer bytes depend on (in-layer path, clamped mtime,
  // compression), built by the caller.
  std::string options;
  bool operator==(const CacheKey&) const = default;
};

struct CacheEntry {
  Digest digest, diff_id, content;
  Xxh128 check{};
  uint64_t layer_size = 0;
  bool operator==(const CacheEntry&) const = default;
};

// stat() following links; Error(Exit::no_input) if that fails.
CacheKey cache_key_for(const std::filesystem::path& file, std::string options);

struct CacheKeyHash {
  size_t operator()(const CacheKey& key) const;
};

class DigestCache {
 public:
  static constexpr size_t default_max_entries = 100000;
  static constexpr const char* file_name = "olot-filter-cache.v1";

  // In memory only: find() and put() work, save() writes nothing.
  DigestCache() = default;

  // Loads DIR/olot-filter-cache.v1 if present, creating DIR if missing. A
  // directory that cannot be created, or a cache file that is corrupt or
  // unreadable, costs one warning through `warnings` and yields an empty
  // cache (in memory only, if DIR is unusable); never an error.
  static DigestCache open(const std::filesystem::path& dir, Warnings& warnings,
                          size_t max_entries = default_max_entries);

  // Not while another thread uses `other`: the mutex is not moved.
  DigestCache(DigestCache&& other) noexcept;
  DigestCache& operator=(DigestCache&& other) noexcept;

  // find() and put() may be called concurrently. A hit counts as a use, so
  // an entry that is still hit is never the one the size bound drops.
  std::optional<CacheEntry> find(const CacheKey& key) const;
  void put(const CacheKey& key, const CacheEntry& entry);
  size_t size() const;

  // Writes the file atomically (a temp file in DIR, fsync, rename) when
  // anything was found or put since open(). Entries loaded and not touched
  // are kept; beyond max_entries the least recently used are dropped.
  // Failure is a warning, never fatal.
  void save(Warnings& warnings) const;

  std::filesystem::path file() const { return dir_.empty() ? dir_ : dir_ / file_name; }

 private:
  struct Slot {
    CacheEntry entry;
    uint64_t last_use = 0;  // the order of find/put hits; file order on load
  };

  DigestCache(std::filesystem::path dir, size_t max_entries) : dir_(std::move(dir)), max_entries_(max_entries) {}
  void load(Warnings& warnings);
  void insert_loaded(CacheKey key, CacheEntry entry);
  std::string serialize() const;

  std::filesystem::path dir_;  // empty: in memory only
  size_t max_entries_ = default_max_entries;
  mutable std::mutex mutex_;
  // Mutable because a find() records its use, see above.
  mutable std::unordered_map<CacheKey, Slot, CacheKeyHash> slots_;
  mutable uint64_t next_use_ = 0;
  mutable bool dirty_ = false;
};

// The text of a cache file holding `records` in this order, and its parser;
// exposed for tests. parse returns nullopt and sets `reason` on any defect.
using CacheRecords = std::vector<std::pair<CacheKey, CacheEntry>>;
std::string serialize_cache(const CacheRecords& records);
std::optional<CacheRecords> parse_cache(std::string_view text, std::string& reason);

}  // namespace olot
