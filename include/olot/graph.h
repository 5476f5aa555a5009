// Stage 4, the graph: from index.json through image indexes (nested to any
// depth) to manifests, configs and layers. A blob's role comes from how it
// is referenced, never from its content. Every check that needs the whole
// layout happens here, before anything new is written.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "olot/digest.h"
#include "olot/json.h"
#include "olot/layout_reader.h"

namespace olot {

enum class NodeKind { index, manifest };

struct Node {
  Digest digest;
  NodeKind kind = NodeKind::manifest;
  std::string media_type;  // its own mediaType field, else its descriptor's
  uint64_t size = 0;
  json::Value doc;
  std::string where;        // for messages: digest and platform
  bool attestation = false;  // an attestation manifest or a referrer (subject)
  bool selected = false;     // reachable from a selected root entry
  bool runnable = false;     // an image manifest with an image config
  std::optional<Digest> config;
  std::optional<json::Value> config_doc;  // parsed, when the config was buffered
};

struct GraphOptions {
  std::vector<std::string> refs;  // empty: every root entry is selected
  bool allow_missing_blobs = false;
  bool convert = true;
  std::vector<std::string> platforms;  // "os/arch[/variant]"; empty: keep all
};

struct Graph {
  json::Value root;                        // index.json
  std::map<Digest, Node> nodes;            // indexes and manifests
  std::vector<Digest> order;               // children before parents
  std::map<Digest, std::string> inline_blobs;  // from descriptors' data, absent from the input
  std::vector<Digest> targets;             // selected runnable image manifests, in order
  std::map<Digest, std::string> pruned;    // entries left out by --platform, with their platform
  bool has_index = false;                  // an image index blob below index.json
};

Graph build_graph(const Inventory& inventory, const GraphOptions& options);

// The platform of a descriptor as "os/arch[/variant]", or "" if it has none.
std::string platform_of(const json::Value& descriptor);

std::string ref_name_of(const json::Value& descriptor);

// Whether a descriptor survives --platform: entries without a platform (and
// unknown/unknown ones) always do.
bool platform_kept(const json::Value& descriptor, const std::vector<std::string>& platforms);

}  // namespace olot
