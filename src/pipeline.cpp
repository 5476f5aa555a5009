#include "olot/pipeline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <set>

#include "olot/docker_save.h"
#include "olot/error.h"
#include "olot/graph.h"
#include "olot/layout_reader.h"
#include "olot/model_layers.h"
#include "olot/output.h"
#include "olot/progress.h"
#include "olot/report.h"
#include "olot/rewrite.h"
#include "olot/tar_sink.h"
#include "olot/warnings.h"

namespace olot {

namespace {

class InputFile {
 public:
  explicit InputFile(const std::string& path) {
    if (path == "-") {
      raise_pipe_buffer(fd_);
      return;
    }
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(Exit::no_input, "cannot open input", path + " (" + std::strerror(errno) + ")");
    name_ = path;
  }
  ~InputFile() {
    if (fd_ > 0) ::close(fd_);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  // The size of a regular input file (for the ETA), else 0.
  uint64_t size() const {
    struct stat st;
    return ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  }

 private:
  int fd_ = 0;
  std::string name_ = "stdin";
};

std::string rfc3339(int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Writes each blob once: a layer or document may already be in the output.
class BlobLedger {
 public:
  explicit BlobLedger(const BlobTable& input) : input_(input) {}
  bool has(const Digest& d) const { return streamed(d) || written_.count(d) > 0; }
  void put(Sink& sink, const Digest& d, std::string_view bytes) {
    if (!streamed(d) && written_.insert(d).second) sink.put_blob(d, bytes);
  }
  void mark(const Digest& d) { written_.insert(d); }

 private:
  // Streamed input blobs went out as they came.
  bool streamed(const Digest& d) const {
    auto record = input_.find(d);
    return record && !record->buffered;
  }
  const BlobTable& input_;
  std::set<Digest> written_;  // documents and new layers
};

class Job {
 public:
  Job(const Options& options, int64_t now) : options_(options), warnings_(options.verbosity), now_(now) {}

  // Everything up to and including the sink's commit.
  void process(const std::vector<ModelFile>& files, TarSource& source, Sink& sink) {
    planned_ = plan_layers(files, {options_.compression, options_.mtime, options_.pack_small,
                                   normalize_prefix(options_.model.prefix)});
    std::optional<DigestCache> cache;
    if (options_.cache) cache = DigestCache::open(*options_.cache, warnings_);
    LayerHasher hasher(planned_, cache ? &*cache : nullptr);
    BlobVerifier verifier;
    Inventory inventory = read_layout(source, sink, verifier,
                                      {options_.max_json_size, !options_.no_verify, progress_.get()}, warnings_);
    verifier.finish();
    Graph graph = build_graph(inventory, {options_.refs, options_.allow_missing_blobs, !options_.no_convert, platform_names()});
    for (const std::string& w : inventory.warnings) warnings_.warn(w);
    if (!planned_.empty() && graph.targets.empty())
      fail(Exit::data, "no runnable image manifest to add the model to", "index.json");
    if (options_.add_modelpack && !graph.has_index)
      fail(Exit::usage, "--add-modelpack needs an image index", "index.json (the layout holds a single manifest)");

    warn_about_layer_count(graph);
    BlobLedger ledger(inventory.blobs);
    ImageEdit edit = write_model_layers(graph, hasher, sink, ledger, cache ? &*cache : nullptr);
    edit.labels = options_.labels;
    edit.annotations = options_.annotations;
    edit.tag = options_.tag;
    edit.add_modelpack = options_.add_modelpack;
    edit.created = rfc3339(options_.mtime.value_or(now_));
    result_ = rewrite(graph, inventory, edit, warnings_);
    write_documents(inventory, graph, result_, sink, ledger);
    write_docker_extras(inventory, sink);
    edit_ = std::move(edit);
    // The side files come before the commit, so that a failure to write
    // them still leaves the output visibly incomplete.
    write_side_files();
    sink.commit(result_.index_json);
    if (cache) cache->save(warnings_);
  }

  void run() {
    // Model paths are checked before a byte of input is read.
    auto files = collect_model_files(options_.model);
    InputFile input(options_.input);
    TarSource source(input.fd(), input.name());
    bool show = options_.progress.value_or(Progress::stderr_is_terminal());
    progress_ = std::make_unique<Progress>(show, input.size());
    warnings_.attach(progress_.get());
    if (options_.dry_run) {
      NullSink sink;
      process(files, source, sink);
      progress_->finish();
      std::fputs(describe_plan(edit_, result_).c_str(), stderr);
    } else {
      Output output(options_.output);
      MeteredSink metered(output, *progress_);
      TarSink sink(metered, options_.mtime.value_or(now_));
      process(files, source, sink);
      output.commit();
    }
    progress_->finish();
    warnings_.note(summary_line(edit_, result_));
  }

 private:
  ImageEdit write_model_layers(const Graph& graph, LayerHasher& hasher, Sink& sink, BlobLedger& ledger,
                               DigestCache* cache) {
    ImageEdit edit;
    for (size_t i = 0; i < planned_.size(); ++i) {
      const HashedLayer& hashed = hasher.get(i);
      bool wanted = std::any_of(graph.targets.begin(), graph.targets.end(), [&](const Digest& t) {
        return !has_layer(graph.nodes.at(t).doc, hashed.digest, planned_[i].inlayer_path);
      });
      if (!wanted) {
        warnings_.note("already present in every image: " + planned_[i].inlayer_path);
        continue;
      }
      NullSink already_written;
      bool fresh = !ledger.has(hashed.digest);
      if (progress_) progress_->set_item(planned_[i].inlayer_path);
      edit.layers.push_back(
          write_layer(planned_[i], hashed, fresh ? sink : static_cast<Sink&>(already_written)));
      ledger.mark(hashed.digest);
      if (cache && hashed.cache_key) cache->put(*hashed.cache_key, cache_entry_for(edit.layers.back(), hashed));
    }
    return edit;
  }

  void write_documents(const Inventory& inventory, const Graph& graph, const Rewritten& result, Sink& sink,
                       BlobLedger& ledger) {
    // Unchanged documents first, then the new ones: a document that points
    // to a new one is new itself, so this order respects every reference.
    auto put_unchanged = [&](const Digest& d) {
      auto it = inventory.documents.find(d);
      if (it != inventory.documents.end() && !result.dropped.count(d)) ledger.put(sink, d, it->second);
    };
    std::set<Digest> in_graph;
    for (const auto& [digest, node] : graph.nodes) {
      in_graph.insert(digest);
      if (node.config) in_graph.insert(*node.config);
    }
    for (const Digest& d : inventory.buffered_order)
      if (!in_graph.count(d)) put_unchanged(d);  // layers and unreferenced blobs
    for (const auto& [digest, bytes] : graph.inline_blobs) ledger.put(sink, digest, bytes);
    for (const Digest& d : graph.order)
      if (const Node& n = graph.nodes.at(d); n.config) put_unchanged(*n.config);
    for (const Digest& d : graph.order)
      if (graph.nodes.at(d).kind == NodeKind::manifest) put_unchanged(d);
    for (const Digest& d : graph.order)
      if (graph.nodes.at(d).kind == NodeKind::index) put_unchanged(d);
    for (const Document& doc : result.documents) ledger.put(sink, doc.digest, doc.bytes);
  }

  // Many runtimes and registries refuse images of more than about 125
  // layers (overlayfs stacking limits).
  void warn_about_layer_count(const Graph& graph) {
    for (const Digest& t : graph.targets) {
      const json::Value* layers = graph.nodes.at(t).doc.find("layers");
      size_t total = planned_.size() + (layers && layers->is_array() ? layers->items().size() : 0);
      if (total > 125) {
        warnings_.warn("image " + graph.nodes.at(t).where + " would have " + std::to_string(total) +
                       " layers, more than many runtimes accept (125); --pack-small BYTES puts small files in one layer");
        return;
      }
    }
  }

  std::vector<std::string> platform_names() const {
    std::vector<std::string> names;
    for (const Platform& p : options_.platforms) names.push_back(p.str());
    return names;
  }

  void write_docker_extras(const Inventory& inventory, Sink& sink) {
    for (const auto& [name, bytes] : inventory.docker_extras)
      sink.put_extra(name, name == "manifest.json" ? rewrite_docker_manifest(bytes, result_.images)
                                                   : rewrite_docker_repositories(bytes, result_.images));
  }

  void write_side_files() {
    if (options_.digest_file && !options_.dry_run) {
      std::string lines;
      for (const auto& [ref, digest] : result_.image_roots)
        lines += digest.str() + (result_.image_roots.size() > 1 && !ref.empty() ? " " + ref : "") + "\n";
      write_file_atomically(options_.digest_file->string(), lines);
    }
    if (options_.report) write_report(*options_.report, build_report(edit_, result_));
  }

  const Options& options_;
  Warnings warnings_;
  int64_t now_;
  std::vector<PlannedLayer> planned_;
  std::unique_ptr<Progress> progress_;
  Rewritten result_;
  ImageEdit edit_;
};

}  // namespace

void run(const Options& options) { Job(options, static_cast<int64_t>(std::time(nullptr))).run(); }

void convert_stream(const Options& options, TarSource& source, Sink& sink, int64_t now) {
  Job(options, now).process(collect_model_files(options.model), source, sink);
}

}  // namespace olot
