#include "olot/model_layers.h"

#include <algorithm>

#include "olot/error.h"

namespace olot {

namespace {

std::string file_name(const std::string& inlayer) {
  auto slash = inlayer.rfind('/');
  return slash == std::string::npos ? inlayer : inlayer.substr(slash + 1);
}

// XXH3 of each file's content; in the writing pass also its SHA-256, on
// the `sha` worker thread so that the writing thread only moves bytes.
class FileChecks final : public ContentObserver {
 public:
  FileChecks(BlobVerifier* sha, const std::atomic<bool>* cancel = nullptr) : sha_(sha), cancel_(cancel) {}
  void begin_file(size_t) override {
    xxh_.emplace();
    if (sha_) digests_.push_back(sha_->begin_digest());
  }
  void content(const void* data, size_t size) override {
    if (cancel_ && cancel_->load(std::memory_order_relaxed)) throw Error(Exit::software, "model hashing cancelled");
    xxh_->write(data, size);
    if (sha_) sha_->feed({static_cast<const unsigned char*>(data), size});
  }
  void end_file(size_t) override {
    checks.push_back(xxh_->finish());
    if (sha_) sha_->end();
  }
  std::vector<Digest> digests() {
    std::vector<Digest> out;
    for (auto& d : digests_) out.push_back(d.get());
    return out;
  }
  std::vector<Xxh128> checks;

 private:
  BlobVerifier* sha_;
  const std::atomic<bool>* cancel_;
  std::optional<Xxh3Hasher> xxh_;
  std::vector<std::future<Digest>> digests_;
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

// Produces the layer bytes into `out`; diff_id (the uncompressed tar's
// digest) into `diff_id` when the layer is compressed.
void produce(const PlannedLayer& layer, ByteSink& out, Hasher* diff_id, ContentObserver& observer) {
  if (layer.spec.compression == Compression::none) return emit_layer_tar(layer.spec, out, &observer);
  Compressor compressor(layer.spec.compression, out);
  CountingSink nothing;
  TeeSink tee(compressor, diff_id ? static_cast<ByteSink&>(*diff_id) : nothing);
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
  Hasher blob(DigestAlg::sha256), diff_id(DigestAlg::sha256);
  CountingSink count;
  TeeSink out(blob, count);
  FileChecks checks(nullptr, cancel);
  produce(layer, out, &diff_id, checks);
  HashedLayer h;
  h.digest = blob.finish();
  h.diff_id = layer.spec.compression == Compression::none ? h.digest : diff_id.finish();
  h.size = count.count();
  h.file_checks = std::move(checks.checks);
  return h;
}

LayerHasher::LayerHasher(const std::vector<PlannedLayer>& layers, const DigestCache* cache)
    : layers_(layers), cache_(cache) {
  if (!layers_.empty()) worker_ = std::thread([this] { work(); });
}

LayerHasher::~LayerHasher() {
  stop_ = true;
  if (worker_.joinable()) worker_.join();
}

void LayerHasher::work() {
  try {
    for (const PlannedLayer& layer : layers_) {
      HashedLayer h = hash_or_recall(layer);
      std::lock_guard lock(mutex_);
      done_.push_back(std::move(h));
      ready_.notify_all();
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    failure_ = std::current_exception();
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
  ready_.wait(lock, [&] { return done_.size() > i || failure_; });
  if (done_.size() > i) return done_[i];
  std::rethrow_exception(failure_);
}

NewLayer write_layer(const PlannedLayer& layer, const HashedLayer& hashed, Sink& sink, BlobVerifier& content_sha) {
  const std::string& path = layer.spec.files.front().source.string();
  sink.begin_blob(hashed.digest, hashed.size);
  Hasher blob(DigestAlg::sha256);
  bool compressed = layer.spec.compression != Compression::none;
  BoundedSink bounded(sink, hashed.size, path);
  TeeSink rehash(bounded, blob);  // compressed bytes are checked as a whole
  FileChecks checks(hashed.known_content ? nullptr : &content_sha);
  produce(layer, compressed ? static_cast<ByteSink&>(rehash) : bounded, nullptr, checks);
  if (bounded.left() != 0 || checks.checks != hashed.file_checks || (compressed && blob.finish() != hashed.digest))
    fail(Exit::data, "model file changed while reading", path);
  sink.end();
  NewLayer out;
  out.digest = hashed.digest;
  out.diff_id = hashed.diff_id;
  out.content_digest = hashed.known_content ? *hashed.known_content : checks.digests().front();
  out.size = hashed.size;
  out.media_type = std::string(layer_media_type(layer.spec.compression));
  out.inlayer_path = layer.inlayer_path;
  out.title = layer.title;
  out.modelcard = layer.modelcard;
  out.packed = layer.packed;
  return out;
}

}  // namespace olot
