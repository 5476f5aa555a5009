// Stage 3b, the model layers (SPEC §6, §10): planned from the model files,
// hashed in a first pass on worker threads while the input streams, and
// written in a second pass that re-checks every file with XXH3-128, so a
// file that changed in between fails instead of yielding a layer whose
// digest does not match its bytes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "olot/digest.h"
#include "olot/digest_cache.h"
#include "olot/layer.h"
#include "olot/model_files.h"
#include "olot/rewrite.h"
#include "olot/sink.h"

namespace olot {

struct PlannedLayer {
  LayerSpec spec;
  std::string inlayer_path;  // "/models/sub/w.bin", or the prefix for a packed layer
  std::string title;         // file name
  bool modelcard = false;
  bool packed = false;       // several small files (--pack-small)
};

struct LayerPlanOptions {
  Compression compression = Compression::none;
  std::optional<int64_t> epoch;  // clamps file mtimes
  uint64_t pack_small = 0;       // files below this size share one layer
  std::string prefix = "models/";  // normalised, for the packed layer's path
};

// One layer per file, the modelcard gzip-compressed and last; with
// pack_small, one shared layer first for the small files, sorted by path.
std::vector<PlannedLayer> plan_layers(const std::vector<ModelFile>& files, const LayerPlanOptions& options);

struct HashedLayer {
  Digest digest, diff_id;
  uint64_t size = 0;
  std::vector<Xxh128> file_checks;    // one per file of the layer
  std::optional<Digest> content;      // the file's own SHA-256; none for a packed layer
  std::optional<CacheKey> cache_key;  // where to remember this layer
};

// The first pass, on worker threads while the input streams: two layers at
// a time when there are two cores (the writing pass only moves bytes and
// XXH3-checks them, so one hashing thread would leave a core idle). Layers
// found in `cache` are not read at all.
class LayerHasher {
 public:
  LayerHasher(const std::vector<PlannedLayer>& layers, const DigestCache* cache);
  ~LayerHasher();
  LayerHasher(const LayerHasher&) = delete;
  LayerHasher& operator=(const LayerHasher&) = delete;

  // Waits for layer i; rethrows the failure of the lowest layer that failed,
  // if that is layer i or one before it.
  const HashedLayer& get(size_t i);

 private:
  void work();

  HashedLayer hash_or_recall(const PlannedLayer& layer);

  const std::vector<PlannedLayer>& layers_;
  const DigestCache* cache_;
  std::vector<std::optional<HashedLayer>> done_;  // by layer index
  size_t lowest_failure_ = SIZE_MAX;              // the layer index of failure_
  std::exception_ptr failure_;
  std::atomic<size_t> next_ = 0;                  // the next layer a worker takes
  std::atomic<bool> failed_ = false;              // no worker takes another layer
  std::atomic<bool> stop_ = false;                // cancels the layers being hashed
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<std::thread> workers_;
};

// `cancel`, when it turns true, stops the pass early (with an exception).
HashedLayer hash_layer(const PlannedLayer& layer, const std::atomic<bool>* cancel = nullptr);

// The second pass: writes the layer blob to `sink` (which may be a NullSink
// when the blob is already in the output) and returns its descriptor facts.
NewLayer write_layer(const PlannedLayer& layer, const HashedLayer& hashed, Sink& sink);

// What the cache should remember of a layer after its writing pass.
CacheEntry cache_entry_for(const NewLayer& layer, const HashedLayer& hashed);

}  // namespace olot
