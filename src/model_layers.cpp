#include "olot/model_layers.h"

#include <algorithm>

#include "olot/error.h"
#include "olot/nested_sha256.h"

namespace olot {

namespace {

std::string file_name(const std::string& inlayer) {
  auto slash = inlayer.rfind('/');
  return slash == std::string::npos ? inlayer : inlayer.substr(slash + 1);
}

// XXH3 of each file's content (recorded in the hashing pass, compared in the
// writing pass); in the hashing pass also the file's own SHA-256, as a
// stretch of the layer tar's NestedSha256.
class FileChecks final : public ContentObserver {
 public:
  explicit FileChecks(NestedSha256* tar = nullptr, const std::atomic<bool>* cancel = nullptr)
      : tar_(tar), cancel_(cancel) {}
  void begin_file(size_t) override {
    xxh_.emplace();
    if (tar_) tar_->open_stretch();
  }
  void content(const void* data, size_t size) override {
    if (cancel_ && cancel_->load(std::memory_order_relaxed)) throw Error(Exit::software, "model hashing cancelled");
    xxh_->write(data, size);
  }
  void end_file(size_t) override {
    checks.push_back(xxh_->finish());
    if (tar_) contents.push_back(tar_->close_stretch());
  }
  std::vector<Xxh128> checks;
  std::vector<Digest> contents;

 private:
  NestedSha256* tar_;
  const std::atomic<bool>* cancel_;
  std::optional<Xxh3Hasher> xxh_;
};

// Refuses to pass more bytes than the first pass produced: a changed model
// file must fail as bad data before the output entry overflows.
class BoundedSink final : public ByteSink {
 public:
  BoundedSink(ByteSink& out, uint64_t limit, const std::string& path) : out_(out), left_(limit), path_(path) {}
  void write(const void* data, size_t size) override {
    if (size > left_) fail(Exit::data, "model file changed while reading", path_);
    left_ -= size;
    out_.write(data, size);
  }
  using ByteSink::write;
  uint64_t left() const { return left_; }

 private:
  ByteSink& out_;
  uint64_t left_;
  const std::string& path_;
};

// Produces the layer bytes into `out`; the uncompressed tar also into
// `tar` when the layer is compressed.
void produce(const PlannedLayer& layer, ByteSink& out, ByteSink* tar, ContentObserver& observer) {
  if (layer.spec.compression == Compression::none) return emit_layer_tar(layer.spec, out, &observer);
  Compressor compressor(layer.spec.compression, out);
  CountingSink nothing;
  TeeSink tee(compressor, tar ? *tar : nothing);
  emit_layer_tar(layer.spec, tee, &observer);
  compressor.finish();
}

}  // namespace

std::vector<PlannedLayer> plan_layers(const std::vector<ModelFile>& files, const LayerPlanOptions& options) {
  auto entry_of = [&](const ModelFile& f) {
    return LayerEntry{f.source, f.inlayer, f.size, options.epoch ? std::min(f.mtime, *options.epoch) : f.mtime};
  };
  auto is_small = [&](const ModelFile& f) { return !f.modelcard && f.size < options.pack_small; };
  std::vector<PlannedLayer> out;
  std::vector<const ModelFile*> small;
  for (const ModelFile& f : files)
    if (is_small(f)) small.push_back(&f);
  if (!small.empty()) {
    std::sort(small.begin(), small.end(), [](auto* a, auto* b) { return a->inlayer < b->inlayer; });
    PlannedLayer packed;
    for (const ModelFile* f : small) packed.spec.files.push_back(entry_of(*f));
    packed.spec.compression = options.compression;
    std::string dir = options.prefix.empty() ? "" : options.prefix.substr(0, options.prefix.size() - 1);
    packed.inlayer_path = "/" + dir;
    packed.title = (dir.empty() ? std::string("/") : file_name(dir)) + " (" + std::to_string(small.size()) + " small files)";
    packed.packed = true;
    out.push_back(std::move(packed));
  }
  for (const ModelFile& f : files) {
    if (is_small(f)) continue;
    PlannedLayer p;
    p.spec.files.push_back(entry_of(f));
    p.spec.compression = f.modelcard ? Compression::gzip : options.compression;
    p.inlayer_path = "/" + f.inlayer;
    p.title = file_name(f.inlayer);
    p.modelcard = f.modelcard;
    out.push_back(std::move(p));
  }
  return out;
}

HashedLayer hash_layer(const PlannedLayer& layer, const std::atomic<bool>* cancel) {
  NestedSha256 tar;  // the uncompressed tar, and each file's content inside it
  Hasher compressed;
  const bool plain = layer.spec.compression == Compression::none;
  CountingSink count;
  TeeSink out(plain ? static_cast<ByteSink&>(tar) : compressed, count);
  // A packed layer holds several files, so it has no content digest.
  FileChecks checks(layer.packed ? nullptr : &tar, cancel);
  produce(layer, out, plain ? nullptr : &tar, checks);
  HashedLayer h;
  h.diff_id = tar.finish();
  h.digest = plain ? h.diff_id : compressed.finish();
  h.size = count.count();
  h.file_checks = std::move(checks.checks);
  if (!layer.packed) h.content = checks.contents.front();
  return h;
}

LayerHasher::LayerHasher(const std::vector<PlannedLayer>& layers, const DigestCache* cache)
    : layers_(layers), cache_(cache), done_(layers.size()) {
  const size_t workers = std::min<size_t>(layers_.size(), std::thread::hardware_concurrency() >= 2 ? 2 : 1);
  for (size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
}

LayerHasher::~LayerHasher() {
  stop_ = true;
  for (std::thread& t : workers_) t.join();
}

// Layers are taken in order, so the writing pass, which needs them in order,
// waits at most for the ones being hashed. After a failure no new layer is
// taken, but the ones in hand finish, so the error reported is that of the
// lowest layer that failed, whichever worker got there first.
void LayerHasher::work() {
  for (size_t i; !failed_ && (i = next_.fetch_add(1)) < layers_.size();) {
    try {
      HashedLayer h = hash_or_recall(layers_[i]);
      std::lock_guard lock(mutex_);
      done_[i] = std::move(h);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (i < lowest_failure_) {
        lowest_failure_ = i;
        failure_ = std::current_exception();
      }
      failed_ = true;
    }
    ready_.notify_all();
  }
}

namespace {

// Everything besides the file's identity that the layer bytes depend on.
std::string cache_options(const PlannedLayer& layer) {
  const LayerEntry& f = layer.spec.files.front();
  return "layer-v1\t" + f.inlayer + "\t" + std::to_string(f.mtime) + "\t" +
         std::string(layer_media_type(layer.spec.compression));
}

}  // namespace

HashedLayer LayerHasher::hash_or_recall(const PlannedLayer& layer) {
  // A packed layer holds several files, which one key cannot describe.
  if (!cache_ || layer.packed) return hash_layer(layer, &stop_);
  CacheKey key = cache_key_for(layer.spec.files.front().source, cache_options(layer));
  if (auto hit = cache_->find(key); hit && hit->layer_size > 0) {
    HashedLayer h{hit->digest, hit->diff_id, hit->layer_size, {hit->check}, hit->content, std::nullopt};
    return h;
  }
  HashedLayer h = hash_layer(layer, &stop_);
  h.cache_key = std::move(key);
  return h;
}

CacheEntry cache_entry_for(const NewLayer& layer, const HashedLayer& hashed) {
  return CacheEntry{layer.digest, layer.diff_id, layer.content_digest, hashed.file_checks.front(), layer.size};
}

const HashedLayer& LayerHasher::get(size_t i) {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return done_[i] || lowest_failure_ <= i; });
  if (lowest_failure_ <= i) std::rethrow_exception(failure_);
  return *done_[i];
}

NewLayer write_layer(const PlannedLayer& layer, const HashedLayer& hashed, Sink& sink) {
  const std::string& path = layer.spec.files.front().source.string();
  sink.begin_blob(hashed.digest, hashed.size);
  Hasher blob(DigestAlg::sha256);
  bool compressed = layer.spec.compression != Compression::none;
  BoundedSink bounded(sink, hashed.size, path);
  TeeSink rehash(bounded, blob);  // compressed bytes are checked as a whole
  FileChecks checks;
  produce(layer, compressed ? static_cast<ByteSink&>(rehash) : bounded, nullptr, checks);
  if (bounded.left() != 0 || checks.checks != hashed.file_checks || (compressed && blob.finish() != hashed.digest))
    fail(Exit::data, "model file changed while reading", path);
  sink.end();
  NewLayer out;
  out.digest = hashed.digest;
  out.diff_id = hashed.diff_id;
  out.content_digest = hashed.content.value_or(Digest{});
  out.size = hashed.size;
  out.media_type = std::string(layer_media_type(layer.spec.compression));
  out.inlayer_path = layer.inlayer_path;
  out.title = layer.title;
  out.modelcard = layer.modelcard;
  out.packed = layer.packed;
  return out;
}

}  // namespace olot
