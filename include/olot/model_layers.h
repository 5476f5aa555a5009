// Stage 3b, the model layers (SPEC §6, §10): planned from the model files,
// hashed in a first pass on a worker thread while the input streams, and
// written in a second pass that re-checks every file with XXH3-128, so a
// file that changed in between fails instead of yielding a layer whose
// digest does not match its bytes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
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
#include "olot/verifier.h"

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
  std::optional<Digest> known_content;  // from the cache: no SHA-256 of the file needed
  std::optional<CacheKey> cache_key;    // where to remember this layer
};

// The first pass, on its own thread, in layer order; layers found in
// `cache` are not read at all.
class LayerHasher {
 public:
  LayerHasher(const std::vector<PlannedLayer>& layers, const DigestCache* cache);
  ~LayerHasher();
  LayerHasher(const LayerHasher&) = delete;
  LayerHasher& operator=(const LayerHasher&) = delete;

  // Waits for layer i; rethrows what the first pass failed with.
  const HashedLayer& get(size_t i);

 private:
  void work();

  HashedLayer hash_or_recall(const PlannedLayer& layer);

  const std::vector<PlannedLayer>& layers_;
  const DigestCache* cache_;
  std::deque<HashedLayer> done_;  // references stay valid as it grows
  std::exception_ptr failure_;
  std::atomic<bool> stop_ = false;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::thread worker_;
};

// `cancel`, when it turns true, stops the pass early (with an exception).
HashedLayer hash_layer(const PlannedLayer& layer, const std::atomic<bool>* cancel = nullptr);

// The second pass: writes the layer blob to `sink` (which may be a NullSink
// when the blob is already in the output) and returns its descriptor facts.
// The files' own SHA-256s are computed on `content_sha`'s thread.
NewLayer write_layer(const PlannedLayer& layer, const HashedLayer& hashed, Sink& sink, BlobVerifier& content_sha);

// What the cache should remember of a layer after its writing pass.
CacheEntry cache_entry_for(const NewLayer& layer, const HashedLayer& hashed);

}  // namespace olot
