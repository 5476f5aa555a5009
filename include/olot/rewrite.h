// Stage 5, rewrite in dependency order (SPEC §5.2, §6.3, §6.4, §7): configs,
// then manifests, then indexes, then index.json; each document rewritten
// once, each new digest the SHA-256 of the exact bytes written. Documents
// that change keep their key order and number text; documents that do not
// change keep their bytes.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "olot/digest.h"
#include "olot/graph.h"

namespace olot {

class Warnings;

struct NewLayer {
  Digest digest, diff_id, content_digest;
  uint64_t size = 0;
  std::string media_type;
  std::string inlayer_path;  // "/models/sub/w.bin"
  std::string title;         // the file name
  bool modelcard = false;
  bool packed = false;  // several files: no per-file content annotations
};

struct ImageEdit {
  std::vector<NewLayer> layers;
  std::vector<std::pair<std::string, std::string>> labels, annotations;
  std::optional<std::string> tag;
  std::string created;  // RFC 3339, for config created and history
  bool add_modelpack = false;
};

struct Document {
  enum class Kind { config, manifest, index } kind;  // the order they are written in
  Digest digest;
  std::string bytes;
  std::string media_type;
  Digest replaces;
};

// How an image changed, for docker save's manifest.json (SPEC §5.3).
struct ImageUpdate {
  Digest config;               // the new config
  std::vector<Digest> layers;  // every layer of the new manifest
  std::optional<Digest> old_top_layer;  // docker save's repositories names it
};

struct Rewritten {
  std::vector<Document> documents;  // new documents, in dependency order
  std::string index_json;
  std::set<Digest> dropped;  // input documents that must not be written
  std::map<Digest, std::string> drop_reasons;  // index entries left out, and why
  std::vector<std::pair<std::string, Digest>> modified_roots;  // ref name, new digest
  // Root entries holding a selected image, changed or not (a re-run that
  // adds nothing still names its images): the --digest-file lines.
  std::vector<std::pair<std::string, Digest>> image_roots;
  std::vector<std::string> conversions;  // "old type -> new type: digest"
  std::map<Digest, ImageUpdate> images;  // by the old config's digest
};

// True if the image manifest already has this layer at this path.
bool has_layer(const json::Value& manifest, const Digest& digest, const std::string& inlayer_path);

// Moves the trees of the documents it changes (node docs, config_docs and
// the root) out of `graph` instead of copying them, so that a large document
// is held once; the graph's structure (nodes, order, configs) stays valid.
Rewritten rewrite(Graph& graph, const Inventory& inventory, const ImageEdit& edit, Warnings& warnings);

}  // namespace olot
