#include "olot/rewrite.h"

#include <algorithm>
#include <map>

#include "olot/error.h"
#include "olot/media_types.h"
#include "olot/warnings.h"

namespace olot {

namespace {

using json::Value;

constexpr std::string_view inlayer_key = "olot.layer.content.inlayerpath";
constexpr std::string_view modelpack_artifact = "application/vnd.cncf.model.manifest.v1+json";
constexpr std::string_view modelpack_config = "application/vnd.cncf.model.config.v1+json";

// What the rest of the rewrite needs of an input document once its tree has
// been moved out of the graph to be edited.
struct NodeFacts {
  std::optional<Digest> subject;  // what a referrer points to
  bool modelpack = false;         // a ModelPack manifest
  std::vector<Digest> documents;  // the buffered documents it points to (not its layers)
};

struct Outcome {
  Digest digest;
  uint64_t size = 0;
  std::string media_type;
  bool holds_image = false;  // a selected image manifest, or an index with one below
};

Value& object_at(Value& parent, const std::string& key) {
  Value* v = parent.find(key);
  if (!v || !v->is_object()) return parent.set(key, Value::make_object());
  return *v;
}

Value& array_at(Value& parent, const std::string& key) {
  Value* v = parent.find(key);
  if (!v || !v->is_array()) return parent.set(key, Value::make_array());
  return *v;
}

bool set_if_different(Value& object, const std::string& key, const std::string& value) {
  const std::string* old = object.string_at(key);
  if (old && *old == value) return false;
  object.set(key, Value::make_string(value));
  return true;
}

Value layer_descriptor(const NewLayer& layer) {
  Value d = Value::make_object();
  d.set("mediaType", Value::make_string(layer.media_type));
  d.set("digest", Value::make_string(layer.digest.str()));
  d.set("size", Value::make_uint(layer.size));
  Value a = Value::make_object();
  a.set("org.opencontainers.image.title", Value::make_string(layer.title));
  if (!layer.packed) a.set("olot.layer.content.digest", Value::make_string(layer.content_digest.str()));
  a.set("olot.layer.content.type", Value::make_string(layer.packed ? "files" : "file"));
  a.set(std::string(inlayer_key), Value::make_string(layer.inlayer_path));
  if (!layer.packed) a.set("olot.layer.content.name", Value::make_string(layer.title));
  if (layer.modelcard) a.set("io.opendatahub.modelcar.layer.type", Value::make_string("modelcard"));
  d.set("annotations", std::move(a));
  return d;
}

size_t count_non_empty(const Value& history) {
  return static_cast<size_t>(std::count_if(history.items().begin(), history.items().end(), [](const Value& h) {
    const Value* e = h.find("empty_layer");
    return !(e && e->type() == Value::Type::boolean && e->flag());
  }));
}

Value history_entry(const std::string& created, const std::string& created_by) {
  Value h = Value::make_object();
  h.set("created", Value::make_string(created));
  h.set("created_by", Value::make_string(created_by));
  return h;
}

class Rewriter {
 public:
  Rewriter(Graph& graph, const Inventory& inventory, const ImageEdit& edit, Warnings& warnings)
      : graph_(graph), inventory_(inventory), edit_(edit), warnings_(warnings) {
    for (const auto& [digest, node] : graph_.nodes) facts_[digest] = facts_of(node.doc);
  }

  Rewritten run() {
    for (const Digest& d : graph_.order) {
      Node& node = graph_.nodes.at(d);
      outcomes_[d] = node.kind == NodeKind::index ? rewrite_index(node) : rewrite_manifest(node);
    }
    Value root = std::move(graph_.root);
    bool changed = rewrite_children(root, "index.json", true);
    result_.index_json = changed ? json::dump(root) : *inventory_.index_json;
    order_documents();
    collect_dropped(root);
    return std::move(result_);
  }

 private:
  NodeFacts facts_of(const Value& doc) const {
    NodeFacts f;
    if (const Value* subject = doc.find("subject"); subject && subject->string_at("digest"))
      f.subject = Digest::parse(*subject->string_at("digest"));
    const std::string* artifact = doc.string_at("artifactType");
    f.modelpack = artifact && *artifact == modelpack_artifact;
    f.documents = document_children(doc);
    return f;
  }

  // --- manifests ---------------------------------------------------------
  // The tree is moved out of the graph, not copied: a manifest of thousands
  // of layers would otherwise be held twice at the peak (SPEC §11).
  Outcome rewrite_manifest(Node& node) {
    bool target = node.runnable && node.selected;
    bool edits = !edit_.layers.empty() || !edit_.labels.empty() || !edit_.annotations.empty();
    // Most manifests of a pass-through stay as they are: no copy of them.
    if (!(target && edits) && !mentions_docker(node.doc)) {
      Outcome o = finish(node, Value(), false, Document::Kind::manifest);
      o.holds_image = target;
      return o;
    }
    Value doc = std::move(node.doc);
    bool changed = convert_manifest(node, doc);
    if (target && add_model(node, doc)) {
      changed = true;
      modified_images_.insert(node.digest);
    }
    Outcome o = finish(node, std::move(doc), changed, Document::Kind::manifest);
    o.holds_image = target;
    return o;
  }

  static bool mentions_docker(const Value& manifest) {
    auto docker = [](const Value& v) {
      const std::string* t = v.string_at("mediaType");
      return t && media::is_docker(*t);
    };
    if (docker(manifest)) return true;
    if (const Value* c = manifest.find("config"); c && docker(*c)) return true;
    const Value* layers = manifest.find("layers");
    return layers && layers->is_array() && std::any_of(layers->items().begin(), layers->items().end(), docker);
  }

  bool convert_manifest(const Node& node, Value& doc) {
    bool changed = convert_own_type(node, doc);
    if (Value* config = doc.find("config")) {
      if (const std::string* t = config->string_at("mediaType"); t && media::is_docker(*t))
        changed = set_type(*config, std::string(media::to_oci(*t)), node) || changed;
    }
    if (Value* layers = doc.find("layers"); layers && layers->is_array())
      for (Value& layer : layers->items()) changed = convert_layer(layer, node) || changed;
    return changed;
  }

  bool convert_layer(Value& layer, const Node& node) {
    const std::string* t = layer.string_at("mediaType");
    if (!t || !media::is_docker(*t)) return false;
    std::optional<Compression> sniffed;
    auto digest = Digest::parse(layer.string_at("digest") ? *layer.string_at("digest") : "");
    if (auto record = digest ? inventory_.blobs.find(*digest) : std::nullopt) sniffed = record->compression;
    std::string oci = media::to_oci_layer(*t, sniffed);
    if (sniffed && oci != media::to_oci_layer(*t, std::nullopt))
      warnings_.warn("layer " + digest->str() + " is labelled " + *t + " but its bytes are " +
                     (sniffed == Compression::none ? "uncompressed" : sniffed == Compression::gzip ? "gzip" : "zstd") +
                     "; typed " + oci + " (in " + node.where + ")");
    return set_type(layer, oci, node);
  }

  bool convert_own_type(const Node& node, Value& doc) {
    const std::string* own = doc.string_at("mediaType");
    if (own && media::is_docker(*own)) return set_type(doc, std::string(media::to_oci(*own)), node);
    return false;
  }

  bool set_type(Value& object, const std::string& type, const Node& node) {
    const std::string* old = object.string_at("mediaType");
    if (old && *old == type) return false;
    result_.conversions.push_back((old ? *old : std::string("(none)")) + " -> " + type + " in " + node.digest.str());
    object.set("mediaType", Value::make_string(type));
    return true;
  }

  std::vector<const NewLayer*> layers_to_add(const Node& node, const Value& doc) {
    std::vector<const NewLayer*> out;
    for (const NewLayer& layer : edit_.layers) {
      if (has_layer(doc, layer.digest, layer.inlayer_path))
        warnings_.note("already present, not added again: " + layer.inlayer_path + " in " + node.where);
      else
        out.push_back(&layer);
    }
    return out;
  }

  bool add_model(Node& node, Value& doc) {
    auto layers = layers_to_add(node, doc);
    bool annotations_change = false;
    Value annotations = doc.find("annotations") && doc.find("annotations")->is_object() ? *doc.find("annotations")
                                                                                       : Value::make_object();
    for (const auto& [k, v] : edit_.annotations) annotations_change = set_if_different(annotations, k, v) || annotations_change;
    if (layers.empty() && !annotations_change && !labels_change(node)) return false;

    Value& layer_list = array_at(doc, "layers");
    size_t base_layers = layer_list.items().size();
    std::optional<Digest> old_top;
    if (base_layers) old_top = Digest::parse(layer_list.items().back().string_at("digest") ? *layer_list.items().back().string_at("digest") : "");
    auto [config_digest, config_size] = rewrite_config(node, layers, base_layers);
    Value& config = object_at(doc, "config");
    config.set("digest", Value::make_string(config_digest.str()));
    config.set("size", Value::make_uint(config_size));
    for (const NewLayer* layer : layers) layer_list.push_back(layer_descriptor(*layer));
    record_image(*node.config, config_digest, layer_list, old_top);

    annotations.set("io.opendatahub.author", Value::make_string("olot"));
    for (const NewLayer* layer : layers)
      if (layer->modelcard) annotations.set("io.opendatahub.layers.modelcard", Value::make_string(layer->digest.str()));
    for (const auto& [k, v] : edit_.annotations) annotations.set(k, Value::make_string(v));
    if (!annotations.find("org.opencontainers.image.base.digest"))
      annotations.set("org.opencontainers.image.base.digest", Value::make_string(node.digest.str()));
    doc.set("annotations", std::move(annotations));
    return true;
  }

  void record_image(const Digest& old_config, const Digest& new_config, const Value& layers,
                    std::optional<Digest> old_top) {
    ImageUpdate update{new_config, {}, old_top};
    for (const Value& l : layers.items())
      if (auto d = Digest::parse(l.string_at("digest") ? *l.string_at("digest") : "")) update.layers.push_back(*d);
    result_.images[old_config] = std::move(update);
  }

  bool labels_change(const Node& node) {
    if (edit_.labels.empty()) return false;
    const Value* config = node.config_doc ? node.config_doc->find("config") : nullptr;
    const Value* labels = config ? config->find("Labels") : nullptr;
    for (const auto& [k, v] : edit_.labels) {
      const std::string* old = labels ? labels->string_at(k) : nullptr;
      if (!old || *old != v) return true;
    }
    return false;
  }

  // --- configs -----------------------------------------------------------
  std::pair<Digest, uint64_t> rewrite_config(Node& node, const std::vector<const NewLayer*>& layers,
                                             size_t base_layers) {
    if (!node.config_doc)
      fail(Exit::data, "config is too large to buffer or not JSON",
           node.config->str() + " (config of " + node.where + "; raise --max-json-size)");
    std::string key = node.config->str();
    for (const NewLayer* l : layers) key += "," + l->digest.str();
    if (auto it = configs_.find(key); it != configs_.end()) return it->second;

    Value cfg = std::move(*node.config_doc);  // each manifest node parsed its own copy
    Value& rootfs = object_at(cfg, "rootfs");
    if (!rootfs.find("type")) rootfs.set("type", Value::make_string("layers"));
    Value& diff_ids = array_at(rootfs, "diff_ids");
    if (diff_ids.items().size() != base_layers)
      fail(Exit::data, "manifest layers and config rootfs.diff_ids differ in count",
           node.where + " (" + std::to_string(base_layers) + " layers, " + std::to_string(diff_ids.items().size()) +
               " diff_ids)");
    for (const NewLayer* l : layers) diff_ids.push_back(Value::make_string(l->diff_id.str()));
    extend_history(cfg, node, layers, base_layers);
    cfg.set("created", Value::make_string(edit_.created));
    if (!edit_.labels.empty()) {
      Value& labels = object_at(object_at(cfg, "config"), "Labels");
      for (const auto& [k, v] : edit_.labels) labels.set(k, Value::make_string(v));
    }
    std::string bytes = json::dump(cfg);
    Digest digest = digest_of(bytes);
    result_.documents.push_back({Document::Kind::config, digest, bytes, std::string(media::oci_config), *node.config});
    return configs_[key] = {digest, bytes.size()};
  }

  // History stays consistent with the layers: one non-empty entry per layer,
  // placeholders where the base has too few (SPEC §6.4).
  void extend_history(Value& cfg, const Node& node, const std::vector<const NewLayer*>& layers, size_t base_layers) {
    Value& history = array_at(cfg, "history");
    size_t non_empty = count_non_empty(history);
    if (non_empty > base_layers)
      fail(Exit::data, "config history lists more non-empty entries than the image has layers",
           node.where + " (" + std::to_string(non_empty) + " entries, " + std::to_string(base_layers) + " layers)");
    if (non_empty < base_layers) {
      warnings_.warn("base config history has " + std::to_string(non_empty) + " non-empty entries for " +
                     std::to_string(base_layers) + " layers; added placeholders (" + node.where + ")");
      for (size_t i = non_empty; i < base_layers; ++i)
        history.push_back(history_entry(edit_.created, "olot-filter: history missing in base"));
    }
    for (const NewLayer* l : layers) history.push_back(history_entry(edit_.created, "olot-filter: add " + l->inlayer_path));
  }

  // --- indexes -----------------------------------------------------------
  Outcome rewrite_index(Node& node) {
    Value doc = std::move(node.doc);
    // Asked of the entries before rewrite_children renames them.
    bool holds = any_child(doc, [&](const Digest& d) { return outcomes_.count(d) && outcomes_.at(d).holds_image; });
    bool add_modelpack = edit_.add_modelpack && any_child(doc, [&](const Digest& d) { return modified_images_.count(d); }) &&
                         !any_child(doc, [&](const Digest& d) { return facts_.count(d) && facts_.at(d).modelpack; });
    bool changed = convert_own_type(node, doc);
    changed = rewrite_children(doc, node.where, false) || changed;
    if (add_modelpack) {
      array_at(doc, "manifests").push_back(modelpack_descriptor());
      changed = true;
    }
    Outcome o = finish(node, std::move(doc), changed, Document::Kind::index);
    o.holds_image = holds;
    return o;
  }

  template <typename Pred>
  static bool any_child(const Value& index, Pred pred) {
    const Value* children = index.find("manifests");
    return std::any_of(children->items().begin(), children->items().end(), [&](const Value& c) {
      auto d = Digest::parse(c.string_at("digest") ? *c.string_at("digest") : "");
      return d && pred(*d);
    });
  }

  // --- ModelPack (SPEC §6.5) ---------------------------------------------

  // One ModelPack manifest serves every index: it holds the same layers.
  // Its index entry carries no artifactType: skopeo 1.9 cannot push an
  // index with one under --preserve-digests.
  Value modelpack_descriptor() {
    if (!modelpack_) modelpack_ = make_modelpack();
    return *modelpack_;
  }

  Value make_modelpack() {
    Value config = Value::make_object();
    Value descriptor = Value::make_object();
    descriptor.set("createdAt", Value::make_string(edit_.created));
    config.set("descriptor", std::move(descriptor));
    config.set("config", Value::make_object());
    Value modelfs = Value::make_object();
    modelfs.set("type", Value::make_string("layers"));
    Value diff_ids = Value::make_array();
    for (const NewLayer& l : edit_.layers) diff_ids.push_back(Value::make_string(l.diff_id.str()));
    modelfs.set("diffIds", std::move(diff_ids));
    config.set("modelfs", std::move(modelfs));
    std::string config_bytes = json::dump(config);
    Digest config_digest = digest_of(config_bytes);
    result_.documents.push_back({Document::Kind::config, config_digest, config_bytes, std::string(modelpack_config), {}});

    Value manifest = Value::make_object();
    manifest.set("schemaVersion", Value::make_uint(2));
    manifest.set("mediaType", Value::make_string(std::string(media::oci_manifest)));
    manifest.set("artifactType", Value::make_string(std::string(modelpack_artifact)));
    Value config_ref = Value::make_object();
    config_ref.set("mediaType", Value::make_string(std::string(modelpack_config)));
    config_ref.set("digest", Value::make_string(config_digest.str()));
    config_ref.set("size", Value::make_uint(config_bytes.size()));
    manifest.set("config", std::move(config_ref));
    Value layers = Value::make_array();
    for (const NewLayer& l : edit_.layers) {
      Value d = layer_descriptor(l);
      d.set("mediaType", Value::make_string(modelpack_layer_type(l)));
      layers.push_back(std::move(d));
    }
    manifest.set("layers", std::move(layers));
    std::string bytes = json::dump(manifest);
    Digest digest = digest_of(bytes);
    fresh_children_[digest] = children_of(manifest);
    result_.documents.push_back({Document::Kind::manifest, digest, bytes, std::string(media::oci_manifest), {}});

    Value entry = Value::make_object();
    entry.set("mediaType", Value::make_string(std::string(media::oci_manifest)));
    entry.set("digest", Value::make_string(digest.str()));
    entry.set("size", Value::make_uint(bytes.size()));
    Value platform = Value::make_object();
    platform.set("architecture", Value::make_string("unknown"));
    platform.set("os", Value::make_string("unknown"));
    entry.set("platform", std::move(platform));
    return entry;
  }

  static std::string modelpack_layer_type(const NewLayer& l) {
    std::string_view type = l.media_type;
    std::string suffix(type.substr(std::min(type.find('+'), type.size())));
    return (l.modelcard ? "application/vnd.cncf.model.doc.v1.tar" : "application/vnd.cncf.model.weight.v1.tar") + suffix;
  }

  // Points every entry of `index` at its child's new version; drops the
  // attestations and referrers of replaced manifests.
  bool rewrite_children(Value& index, const std::string& where, bool is_root) {
    Value* manifests = index.find("manifests");
    if (!manifests || !manifests->is_array()) return false;
    bool changed = false;
    std::vector<Value> kept;
    for (Value& entry : manifests->items()) {
      if (pruned(entry, where) || stale_reference(entry, where)) {
        changed = true;
        continue;
      }
      bool entry_holds_image = holds_image(entry);
      bool entry_changed = update_descriptor(entry);
      if (entry_changed && is_root) {
        if (edit_.tag) object_at(entry, "annotations").set("org.opencontainers.image.ref.name", Value::make_string(*edit_.tag));
        result_.modified_roots.emplace_back(ref_name_of(entry), *Digest::parse(*entry.string_at("digest")));
      }
      if (is_root && (entry_changed || entry_holds_image))
        result_.image_roots.emplace_back(ref_name_of(entry), *Digest::parse(*entry.string_at("digest")));
      changed = changed || entry_changed;
      kept.push_back(std::move(entry));
    }
    manifests->items() = std::move(kept);
    if (is_root && edit_.tag && result_.modified_roots.size() > 1)
      fail(Exit::usage, "--tag would name several modified root entries", "index.json (select one with --ref)");
    return changed;
  }

  bool holds_image(const Value& entry) const {
    auto it = outcomes_.find(*Digest::parse(*entry.string_at("digest")));
    return it != outcomes_.end() && it->second.holds_image;
  }

  bool update_descriptor(Value& entry) {
    auto digest = Digest::parse(*entry.string_at("digest"));
    auto it = outcomes_.find(*digest);
    if (it == outcomes_.end()) return false;  // unknown media type: kept as it is
    const Outcome& o = it->second;
    bool changed = false;
    if (o.digest != *digest) {
      entry.set("digest", Value::make_string(o.digest.str()));
      entry.set("size", Value::make_uint(o.size));
      changed = true;
    }
    const std::string* type = entry.string_at("mediaType");
    if (!o.media_type.empty() && (!type || *type != o.media_type)) {
      entry.set("mediaType", Value::make_string(o.media_type));
      changed = true;
    }
    return changed;
  }

  bool pruned(const Value& entry, const std::string& where) {
    auto digest = Digest::parse(*entry.string_at("digest"));
    auto it = graph_.pruned.find(*digest);
    if (it == graph_.pruned.end()) return false;
    warnings_.warn("dropped platform " + it->second + " (" + digest->str() + ") from " + where + " (--platform)");
    result_.drop_reasons[*digest] = "platform " + it->second + " not selected by --platform";
    return true;
  }

  bool stale_reference(const Value& entry, const std::string& where) {
    auto digest = Digest::parse(*entry.string_at("digest"));
    auto facts = facts_.find(*digest);
    std::string target;
    const Value* annotations = entry.find("annotations");
    if (const std::string* ref = annotations ? annotations->string_at("vnd.docker.reference.digest") : nullptr)
      target = *ref;
    if (facts != facts_.end() && facts->second.subject) target = facts->second.subject->str();
    auto target_digest = Digest::parse(target);
    if (!target_digest || !(replaced_.count(*target_digest) || graph_.pruned.count(*target_digest))) return false;
    warnings_.warn("dropped " + digest->str() + " from " + where + ": it refers to " + target_digest->str() +
                   ", which was " + (replaced_.count(*target_digest) ? "replaced" : "left out by --platform"));
    result_.dropped.insert(*digest);
    result_.drop_reasons[*digest] = "refers to " + target_digest->str() + ", which was replaced or left out";
    return true;
  }

  // An unchanged document's tree goes back into the graph.
  Outcome finish(Node& node, Value doc, bool changed, Document::Kind kind) {
    std::string type(media::to_oci(node.media_type));
    if (!changed) {
      node.doc = std::move(doc);
      return {node.digest, node.size, type};
    }
    std::string bytes = json::dump(doc);
    Digest digest = digest_of(bytes);
    replaced_.insert(node.digest);
    fresh_children_[digest] = document_children(doc);
    result_.documents.push_back({kind, digest, bytes, type, node.digest});
    return {digest, bytes.size(), type};
  }

  // Configs first, then manifests, then indexes (already children first).
  void order_documents() {
    std::stable_sort(result_.documents.begin(), result_.documents.end(),
                     [](const Document& a, const Document& b) { return a.kind < b.kind; });
  }

  // A replaced or dropped input document is left out of the output unless
  // something in the new graph still points to it; so are the buffered
  // documents only it pointed to (a dropped attestation's config and
  // statement, a pruned platform's config).
  void collect_dropped(const Value& root) {
    std::set<Digest> candidates = replaced_;
    for (const auto& [digest, platform] : graph_.pruned) candidates.insert(digest);
    candidates.insert(result_.dropped.begin(), result_.dropped.end());
    for (const Document& d : result_.documents)
      if (!d.replaces.empty()) candidates.insert(d.replaces);
    for (const Digest& d : std::set<Digest>(candidates))
      for (const Digest& child : old_children(d)) candidates.insert(child);
    std::set<Digest> reachable;
    walk(children_of(root), reachable);
    result_.dropped.clear();
    for (const Digest& d : candidates)
      if (!reachable.count(d)) result_.dropped.insert(d);
  }

  // The documents a manifest or index points to: input documents and new
  // ones; layers are left out (they are no candidates for dropping, and a
  // manifest may list thousands).
  std::vector<Digest> document_children(const Value& doc) const {
    std::vector<Digest> out;
    for (const Digest& d : children_of(doc))
      if (inventory_.documents.count(d) || graph_.nodes.count(d) || fresh_children_.count(d)) out.push_back(d);
    return out;
  }

  // The digests a manifest or index points to.
  static std::vector<Digest> children_of(const Value& doc) {
    std::vector<Digest> out;
    auto add = [&](const Value& descriptor) {
      const std::string* text = descriptor.string_at("digest");
      if (auto digest = text ? Digest::parse(*text) : std::nullopt) out.push_back(*digest);
    };
    for (const char* list : {"manifests", "layers"})
      if (const Value* m = doc.find(list); m && m->is_array())
        for (const Value& d : m->items()) add(d);
    if (const Value* c = doc.find("config"); c && c->is_object()) add(*c);
    return out;
  }

  // What an input document points to; pruned documents are not in the
  // graph, so they are parsed here (they are few). The other candidates
  // outside the graph are configs, which point to nothing: parsing a large
  // one here would set the peak memory of the whole run.
  std::vector<Digest> old_children(const Digest& d) const {
    if (auto f = facts_.find(d); f != facts_.end()) return f->second.documents;
    if (!graph_.pruned.count(d)) return {};
    if (auto doc = inventory_.documents.find(d); doc != inventory_.documents.end())
      return children_of(json::parse(doc->second, d.str()));
    return {};
  }

  void walk(const std::vector<Digest>& children, std::set<Digest>& reachable) const {
    for (const Digest& child : children) {
      if (!reachable.insert(child).second) continue;
      if (auto f = fresh_children_.find(child); f != fresh_children_.end())
        walk(f->second, reachable);
      else if (auto n = facts_.find(child); n != facts_.end())
        walk(n->second.documents, reachable);
    }
  }

  Graph& graph_;
  const Inventory& inventory_;
  const ImageEdit& edit_;
  Warnings& warnings_;
  Rewritten result_;
  std::map<Digest, NodeFacts> facts_;
  std::map<Digest, Outcome> outcomes_;
  std::map<std::string, std::pair<Digest, uint64_t>> configs_;
  std::set<Digest> replaced_;
  std::map<Digest, std::vector<Digest>> fresh_children_;  // what each new document points to
  std::set<Digest> modified_images_;
  std::optional<Value> modelpack_;
};

}  // namespace

bool has_layer(const json::Value& manifest, const Digest& digest, const std::string& inlayer_path) {
  const Value* layers = manifest.find("layers");
  if (!layers || !layers->is_array()) return false;
  return std::any_of(layers->items().begin(), layers->items().end(), [&](const Value& l) {
    const std::string* d = l.string_at("digest");
    const Value* a = l.find("annotations");
    const std::string* path = a ? a->string_at(inlayer_key) : nullptr;
    return d && *d == digest.str() && path && *path == inlayer_path;
  });
}

Rewritten rewrite(Graph& graph, const Inventory& inventory, const ImageEdit& edit, Warnings& warnings) {
  return Rewriter(graph, inventory, edit, warnings).run();
}

}  // namespace olot
