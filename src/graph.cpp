#include "olot/graph.h"

#include <algorithm>

#include "olot/error.h"
#include "olot/media_types.h"

namespace olot {

namespace {

constexpr std::string_view ref_name_key = "org.opencontainers.image.ref.name";
// Real layouts nest two or three levels; the limit keeps recursion bounded.
constexpr size_t max_index_depth = 64;

struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size = 0;
};

Descriptor read_descriptor(const json::Value& d, const std::string& where) {
  if (!d.is_object()) fail(Exit::data, "descriptor is not an object", where);
  Descriptor out;
  const std::string* digest = d.string_at("digest");
  auto parsed = digest ? Digest::parse(*digest) : std::nullopt;
  if (!parsed) fail(Exit::data, "descriptor without a valid digest", where);
  out.digest = *parsed;
  auto size = d.uint_at("size");
  if (!size) fail(Exit::data, "descriptor without a valid size", where + " (" + out.digest.str() + ")");
  out.size = *size;
  if (const std::string* type = d.string_at("mediaType")) out.media_type = *type;
  return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '=') {
      if (i + 2 < text.size()) return std::nullopt;
      ++padding;
      continue;
    }
    int v = value(c);
    if (v < 0 || padding) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// Neither the descriptor nor the document names a type (old writers leave
// both out): the document's shape decides.
media::Role role_by_shape(const json::Value& doc) {
  if (!doc.is_object()) return media::Role::other;
  if (const json::Value* m = doc.find("manifests"); m && m->is_array()) return media::Role::index;
  if (const json::Value* c = doc.find("config"); c && c->is_object()) return media::Role::manifest;
  return media::Role::other;
}

const json::Value* annotations_of(const json::Value& v) {
  const json::Value* a = v.find("annotations");
  return a && a->is_object() ? a : nullptr;
}

std::string annotation(const json::Value& v, std::string_view key) {
  const json::Value* a = annotations_of(v);
  const std::string* s = a ? a->string_at(key) : nullptr;
  return s ? *s : std::string();
}

class Builder {
 public:
  Builder(const Inventory& inventory, const GraphOptions& options) : inventory_(inventory), options_(options) {}

  Graph run() {
    if (!inventory_.index_json) {
      if (inventory_.legacy_docker_archive || inventory_.docker_extras.count("manifest.json"))
        fail(Exit::data, "input is a legacy docker-save archive, not an OCI layout",
             "manifest.json (convert it first: skopeo copy docker-archive:IN.tar oci-archive:OUT.tar)");
      fail(Exit::data, "missing index.json", "input (not an OCI image layout)");
    }
    graph_.root = json::parse(*inventory_.index_json, "index.json");
    const json::Value* manifests = graph_.root.is_object() ? graph_.root.find("manifests") : nullptr;
    if (!manifests || !manifests->is_array()) fail(Exit::data, "manifests must be an array", "index.json");
    std::set<std::string> refs_found;
    for (const json::Value& entry : manifests->items()) {
      std::string ref = ref_name_of(entry);
      bool selected = options_.refs.empty() || std::find(options_.refs.begin(), options_.refs.end(), ref) != options_.refs.end();
      if (selected) refs_found.insert(ref);
      if (selected && prune(entry)) continue;
      visit(entry, "index.json", selected);
    }
    for (const auto& ref : options_.refs)
      if (!refs_found.count(ref)) fail(Exit::data, "no root entry has this ref name", "--ref " + ref);
    return std::move(graph_);
  }

 private:
  // Visits the document a descriptor points to; returns its media role.
  void visit(const json::Value& d, const std::string& parent, bool selected, size_t depth = 0) {
    Descriptor desc = read_descriptor(d, parent);
    if (depth > max_index_depth)
      fail(Exit::data, "image indexes nested deeper than " + std::to_string(max_index_depth), parent);
    std::string where = desc.digest.str();
    if (std::string platform = platform_of(d); !platform.empty()) where += " (platform " + platform + ")";
    const std::string* bytes = document(desc, where);
    media::Role role = media::role_of(desc.media_type, where);
    // Unknown types pass through as they are; only an untyped descriptor
    // lets the document's own mediaType decide.
    if (role == media::Role::other && !desc.media_type.empty()) {
      check_blob(desc, where);
      return;
    }
    if (!bytes) fail(Exit::data, "missing document", where);
    json::Value doc;
    if (bytes) doc = json::parse(*bytes, where);
    std::string own = doc.is_object() && doc.string_at("mediaType") ? *doc.string_at("mediaType") : "";
    if (!own.empty()) {
      media::Role own_role = media::role_of(own, where);
      if (own_role != media::Role::other) role = own_role;
    } else if (desc.media_type.empty()) {
      role = role_by_shape(doc);
    }
    if (role == media::Role::other) return;  // unknown type: passed through as it is
    if (options_.convert == false && (media::is_docker(desc.media_type) || media::is_docker(own)))
      fail(Exit::data, "Docker media type with --no-convert", where);

    auto [it, fresh] = graph_.nodes.try_emplace(desc.digest);
    Node& node = it->second;
    if (fresh) {
      node.digest = desc.digest;
      node.kind = role == media::Role::index ? NodeKind::index : NodeKind::manifest;
      // The type that decided the role: an unknown own mediaType must not
      // end up in the rewritten descriptor (the image would vanish).
      node.media_type = !own.empty() && media::role_of(own, where) != media::Role::other ? own : desc.media_type;
      node.size = desc.size;
      node.doc = std::move(doc);
      node.where = where;
      node.attestation = annotation(d, "vnd.docker.reference.type") == "attestation-manifest" ||
                         node.doc.find("subject") != nullptr;
    } else if (node.selected || !selected) {
      return;
    }
    node.selected = node.selected || selected;
    if (node.kind == NodeKind::index)
      visit_index(node, selected, depth);
    else
      visit_manifest(node);
    if (fresh) graph_.order.push_back(desc.digest);
  }

  void visit_index(Node& node, bool selected, size_t depth) {
    const json::Value* children = node.doc.find("manifests");
    if (!children || !children->is_array()) fail(Exit::data, "manifests must be an array", node.where);
    std::string where = node.where;
    graph_.has_index = true;
    for (const json::Value& child : children->items())
      if (!(selected && prune(child))) visit(child, where, selected, depth + 1);
  }

  bool prune(const json::Value& entry) {
    if (platform_kept(entry, options_.platforms)) return false;
    graph_.pruned[read_descriptor(entry, "index entry").digest] = platform_of(entry);
    return true;
  }

  void visit_manifest(Node& node) {
    if (node.config) {  // seen before, now selected
      mark_target(node);
      return;
    }
    const json::Value* config = node.doc.find("config");
    if (!config) fail(Exit::data, "manifest without a config", node.where);
    Descriptor cd = read_descriptor(*config, node.where);
    media::role_of(cd.media_type, node.where);
    std::string config_where = cd.digest.str() + " (config of " + node.where + ")";
    if (!inventory_.blobs.contains(cd.digest) && !inline_data(*config, cd, config_where))
      fail(Exit::data, "missing config", config_where);
    const std::string* bytes = document(cd, config_where);
    check_blob(cd, config_where);
    node.config = cd.digest;
    bool in_toto = false;
    if (const json::Value* layers = node.doc.find("layers"); layers && !layers->is_null()) {
      if (!layers->is_array()) fail(Exit::data, "layers must be an array", node.where);
      for (const json::Value& layer : layers->items()) {
        Descriptor ld = read_descriptor(layer, node.where);
        in_toto = in_toto || ld.media_type == media::in_toto;
        check_layer(layer, ld, node.where);
      }
    }
    node.runnable = media::is_image_config(cd.media_type) && !node.attestation && !in_toto &&
                    node.doc.find("artifactType") == nullptr;
    if (node.runnable && bytes) {
      node.config_doc = json::parse(*bytes, config_where);
      check_diff_ids(node);
    }
    mark_target(node);
  }

  void mark_target(Node& node) {
    if (!node.runnable || !node.selected) return;
    if (std::find(graph_.targets.begin(), graph_.targets.end(), node.digest) == graph_.targets.end())
      graph_.targets.push_back(node.digest);
  }

  void check_layer(const json::Value& layer, const Descriptor& ld, const std::string& manifest_where) {
    std::string where = ld.digest.str() + " (layer of " + manifest_where + ")";
    if (inventory_.blobs.contains(ld.digest) || inline_data(layer, ld, where)) {
      check_blob(ld, where);
      return;
    }
    if (layer.find("urls") || options_.allow_missing_blobs) return;
    fail(Exit::data, "missing layer blob", where + " (--allow-missing-blobs accepts layouts with layers elided)");
  }

  // The uncompressed layers' digests are their diff_ids: a mismatch means
  // the manifest and the config disagree, and nothing may be added on top.
  void check_diff_ids(const Node& node) {
    const json::Value* rootfs = node.config_doc->find("rootfs");
    const json::Value* diff_ids = rootfs ? rootfs->find("diff_ids") : nullptr;
    const json::Value* layers = node.doc.find("layers");
    if (!layers || !layers->is_array() || !diff_ids || !diff_ids->is_array()) return;
    for (size_t i = 0; i < layers->items().size() && i < diff_ids->items().size(); ++i) {
      const json::Value& layer = layers->items()[i];
      const std::string* type = layer.string_at("mediaType");
      const std::string* digest = layer.string_at("digest");
      auto blob = digest ? Digest::parse(*digest) : std::nullopt;
      auto record = blob ? inventory_.blobs.find(*blob) : std::nullopt;
      if (!type || !record) continue;
      if (!media::is_uncompressed_layer(*type) || record->compression != Compression::none) continue;
      if (!diff_ids->items()[i].is_string() || diff_ids->items()[i].text() != *digest)
        fail(Exit::data, "uncompressed layer digest differs from the config's rootfs.diff_ids",
             node.where + " (layer position " + std::to_string(i) + ")");
    }
  }

  // The buffered bytes of a document, checked against the descriptor, or
  // nullptr if the input does not hold it as a document.
  const std::string* document(const Descriptor& desc, const std::string& where) {
    auto it = inventory_.documents.find(desc.digest);
    if (it == inventory_.documents.end()) {
      media::Role role = media::role_of(desc.media_type, where);
      if (inventory_.blobs.contains(desc.digest) && (role != media::Role::other || media::is_image_config(desc.media_type)))
        fail(Exit::data, "document too large to buffer or not JSON", where + " (raise --max-json-size)");
      auto inline_it = graph_.inline_blobs.find(desc.digest);
      return inline_it == graph_.inline_blobs.end() ? nullptr : &inline_it->second;
    }
    if (it->second.size() != desc.size)
      fail(Exit::data, "descriptor size differs from the blob's size",
           where + " (descriptor says " + std::to_string(desc.size) + ", blob has " + std::to_string(it->second.size()) + ")");
    return &it->second;
  }

  void check_blob(const Descriptor& desc, const std::string& where) {
    auto blob = inventory_.blobs.find(desc.digest);
    if (!blob) return;
    if (blob->size != desc.size)
      fail(Exit::data, "descriptor size differs from the blob's size",
           where + " (descriptor says " + std::to_string(desc.size) + ", blob has " + std::to_string(blob->size) + ")");
  }

  // A descriptor's inline data stands in for an absent blob (skopeo still
  // wants the blob, so it is written to the output).
  bool inline_data(const json::Value& d, const Descriptor& desc, const std::string& where) {
    const std::string* data = d.string_at("data");
    if (!data) return false;
    auto bytes = decode_base64(*data);
    if (!bytes || bytes->size() != desc.size || digest_of(*bytes, desc.digest.alg) != desc.digest)
      fail(Exit::data, "descriptor data does not match its digest", where);
    if (!inventory_.blobs.contains(desc.digest)) graph_.inline_blobs[desc.digest] = std::move(*bytes);
    return true;
  }

  const Inventory& inventory_;
  const GraphOptions& options_;
  Graph graph_;
};

}  // namespace

std::string platform_of(const json::Value& descriptor) {
  const json::Value* p = descriptor.find("platform");
  if (!p || !p->is_object()) return "";
  const std::string* os = p->string_at("os");
  const std::string* arch = p->string_at("architecture");
  const std::string* variant = p->string_at("variant");
  std::string out = (os ? *os : "?") + "/" + (arch ? *arch : "?");
  if (variant) out += "/" + *variant;
  return out;
}

std::string ref_name_of(const json::Value& descriptor) { return annotation(descriptor, ref_name_key); }

bool platform_kept(const json::Value& descriptor, const std::vector<std::string>& platforms) {
  if (platforms.empty()) return true;
  std::string platform = platform_of(descriptor);
  if (platform.empty() || platform == "unknown/unknown") return true;
  return std::any_of(platforms.begin(), platforms.end(), [&](const std::string& wanted) {
    // "linux/arm64" keeps every arm64 variant; "linux/arm64/v8" only v8.
    return platform == wanted || platform.starts_with(wanted + "/");
  });
}

Graph build_graph(const Inventory& inventory, const GraphOptions& options) {
  return Builder(inventory, options).run();
}

}  // namespace olot
