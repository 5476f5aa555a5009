#include "olot/layout_reader.h"

#include <set>

#include "olot/classify.h"
#include "olot/error.h"
#include "olot/json.h"
#include "olot/progress.h"
#include "olot/warnings.h"

namespace olot {

namespace {

bool is_json_blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The first non-blank byte, or 0 if the bytes are all blank.
unsigned char first_non_blank(std::string_view bytes) {
  for (unsigned char c : bytes)
    if (!is_json_blank(c)) return c;
  return 0;
}

class Reader {
 public:
  Reader(TarSource& source, Sink& sink, BlobVerifier& verifier, const ReadOptions& options, Warnings& warnings)
      : source_(source), sink_(sink), verifier_(verifier), options_(options), warnings_(warnings) {}

  Inventory run() {
    EntryHeader header;
    while (source_.next(header)) {
      ClassifiedEntry entry = classify_entry(header);
      if (options_.progress) options_.progress->set_item(header.path);
      if (is_duplicate(entry)) fail(Exit::data, "duplicate entry name", header.path);
      if (entry.role != EntryRole::skip) saw_entry_ = true;
      take(entry, header);
      verifier_.check();
    }
    if (source_.missing_end_marker() && saw_entry_)
      inventory_.warnings.push_back("input ends without the end-of-archive blocks (accepted: every entry was complete)");
    if (!saw_layout_) inventory_.warnings.push_back("input has no oci-layout file (a fresh one is written)");
    return std::move(inventory_);
  }

 private:
  // Blob names are digests, so the blob table finds their duplicates; a set
  // of names is kept for the few other entries only.
  bool is_duplicate(const ClassifiedEntry& entry) {
    if (entry.role == EntryRole::skip) return false;
    if (entry.role == EntryRole::blob) return inventory_.blobs.contains(entry.digest);
    return !names_.insert(entry.name).second;
  }

  std::span<const unsigned char> read() {
    auto block = source_.read();
    if (options_.progress) options_.progress->add_in(block.size());
    return block;
  }

  static void append(std::string& bytes, std::span<const unsigned char> block) {
    bytes.append(reinterpret_cast<const char*>(block.data()), block.size());
  }

  void skip_data() {
    while (!read().empty()) {
    }
  }

  void read_rest_into(std::string& bytes) {
    for (auto block = read(); !block.empty(); block = read()) append(bytes, block);
  }

  // Sized once, with the slack json::parse needs to read it in place.
  static std::string document_buffer(const EntryHeader& header) {
    std::string bytes;
    bytes.reserve(header.size + json::padding);
    return bytes;
  }

  void take(const ClassifiedEntry& entry, const EntryHeader& header) {
    switch (entry.role) {
      case EntryRole::skip: skip_data(); break;
      case EntryRole::oci_layout: check_oci_layout(read_small(header), header.path); break;
      case EntryRole::index: inventory_.index_json = read_small(header); break;
      case EntryRole::blob: take_blob(entry, header); break;
      case EntryRole::root_extra: take_extra(entry, header); break;
    }
  }

  std::string read_small(const EntryHeader& header) {
    if (header.size > options_.max_json_size)
      fail(Exit::data, "document larger than --max-json-size", header.path + " (raise --max-json-size)");
    std::string bytes = document_buffer(header);
    read_rest_into(bytes);
    count_buffered(bytes.size(), header.path);
    return bytes;
  }

  void count_buffered(uint64_t size, const std::string& entry) {
    buffered_total_ += size;
    uint64_t cap = options_.max_json_size > UINT64_MAX / 32 ? UINT64_MAX : 32 * options_.max_json_size;
    if (buffered_total_ > cap)
      fail(Exit::data, "buffered JSON exceeds 32 times --max-json-size", entry + " (raise --max-json-size)");
  }

  void check_oci_layout(const std::string& bytes, const std::string& entry) {
    saw_layout_ = true;
    json::Value v = json::parse(bytes, entry);
    if (!v.is_object() || !v.string_at("imageLayoutVersion"))
      fail(Exit::data, "malformed oci-layout (want {\"imageLayoutVersion\":\"1.0.0\"})", entry);
  }

  void take_blob(const ClassifiedEntry& entry, const EntryHeader& header) {
    BlobRecord record;
    record.size = header.size;
    std::string pending;  // bytes read while it is not yet known whether to buffer
    bool may_buffer = header.size <= options_.max_json_size;
    auto block = read();
    if (may_buffer) {
      while (!block.empty() && first_non_blank(pending) == 0) {
        append(pending, block);
        block = read();
      }
    }
    if (may_buffer && first_non_blank(pending) == '{') {
      std::string bytes = document_buffer(header);
      bytes += pending;
      append(bytes, block);
      if (!block.empty()) read_rest_into(bytes);
      buffer_blob(entry, header, std::move(bytes), record);
      warnings_.verbose("buffered " + entry.name + " (" + std::to_string(header.size) + " bytes)");
    } else {
      stream_blob(entry, header, pending, block, record);
      warnings_.verbose("streamed " + entry.name + " (" + std::to_string(header.size) + " bytes)");
    }
    inventory_.blobs.insert(entry.digest, record);
  }

  void buffer_blob(const ClassifiedEntry& entry, const EntryHeader& header, std::string bytes, BlobRecord& record) {
    count_buffered(bytes.size(), header.path);
    check_content(digest_of(bytes, entry.digest.alg), entry, header);
    record.buffered = true;
    inventory_.buffered_order.push_back(entry.digest);
    inventory_.documents[entry.digest] = std::move(bytes);
  }

  static void check_content(const Digest& actual, const ClassifiedEntry& entry, const EntryHeader& header) {
    if (actual != entry.digest)
      fail(Exit::data, "blob content does not match its name", header.path + " (content is " + actual.str() + ")");
  }

  // Small blobs are hashed here: handing them to the verifier thread costs
  // more than hashing them (an input of a million tiny blobs ran 4x slower).
  enum class Check { none, here, verifier };

  void stream_blob(const ClassifiedEntry& entry, const EntryHeader& header, const std::string& pending,
                   std::span<const unsigned char> block, BlobRecord& record) {
    constexpr uint64_t hash_here_below = 64 << 10;
    Check check = !options_.verify ? Check::none : header.size < hash_here_below ? Check::here : Check::verifier;
    sink_.begin_blob(entry.digest, header.size);
    if (check == Check::here && (!small_hasher_ || small_hasher_->alg() != entry.digest.alg))
      small_hasher_.emplace(entry.digest.alg);  // reused: finish() resets it
    if (check == Check::verifier) verifier_.begin(entry.digest, header.path);
    head_.clear();
    pass(std::span(reinterpret_cast<const unsigned char*>(pending.data()), pending.size()), check);
    for (; !block.empty(); block = read()) pass(block, check);
    sink_.end();
    if (check == Check::here) check_content(small_hasher_->finish(), entry, header);
    if (check == Check::verifier) verifier_.end();
    record.compression = sniff_compression(head_.data(), head_.size());
  }

  void pass(std::span<const unsigned char> data, Check check) {
    if (data.empty()) return;
    if (head_.size() < 4) head_.insert(head_.end(), data.begin(), data.begin() + std::min<size_t>(4 - head_.size(), data.size()));
    sink_.write(data.data(), data.size());
    if (check == Check::here) small_hasher_->write(data.data(), data.size());
    if (check == Check::verifier) verifier_.feed(data);
  }

  void take_extra(const ClassifiedEntry& entry, const EntryHeader& header) {
    if (entry.name == "manifest.json" || entry.name == "repositories") {
      inventory_.docker_extras[entry.name] = read_small(header);
      return;
    }
    if (entry.name.ends_with("/layer.tar")) inventory_.legacy_docker_archive = true;
    inventory_.warnings.push_back("passing through a file that is not part of an OCI layout: " + entry.name);
    sink_.begin_extra(entry.name, header.size);
    for (auto block = read(); !block.empty(); block = read()) sink_.write(block.data(), block.size());
    sink_.end();
  }

  TarSource& source_;
  Sink& sink_;
  BlobVerifier& verifier_;
  const ReadOptions& options_;
  Warnings& warnings_;
  Inventory inventory_;
  std::set<std::string> names_;
  std::vector<unsigned char> head_;
  std::optional<Hasher> small_hasher_;
  uint64_t buffered_total_ = 0;
  bool saw_layout_ = false;
  bool saw_entry_ = false;
};

}  // namespace

Compression sniff_compression(const unsigned char* head, size_t size) {
  if (size >= 2 && head[0] == 0x1f && head[1] == 0x8b) return Compression::gzip;
  if (size >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) return Compression::zstd;
  return Compression::none;
}

Inventory read_layout(TarSource& source, Sink& sink, BlobVerifier& verifier, const ReadOptions& options,
                      Warnings& warnings) {
  return Reader(source, sink, verifier, options, warnings).run();
}

}  // namespace olot
