#include "olot/docker_save.h"

#include "olot/error.h"
#include "olot/json.h"

namespace olot {

namespace {

using json::Value;

bool names(const std::string& reference, const Digest& d) {
  return reference == d.hex || reference == d.str() || reference == d.blob_path();
}

// Config references appear as blob paths, bare hex IDs and digests.
const ImageUpdate* update_for(const std::string& reference, const std::map<Digest, ImageUpdate>& images) {
  for (const auto& [old, update] : images)
    if (names(reference, old)) return &update;
  return nullptr;
}

std::string replace_reference(const std::string& reference, const Digest& old, const Digest& fresh) {
  if (reference == old.blob_path()) return fresh.blob_path();
  if (reference == old.hex) return fresh.hex;
  return fresh.str();
}

}  // namespace

std::string rewrite_docker_manifest(const std::string& bytes, const std::map<Digest, ImageUpdate>& images) {
  if (images.empty()) return bytes;
  Value doc = json::parse(bytes, "manifest.json");
  if (!doc.is_array()) fail(Exit::data, "malformed docker save manifest (want an array)", "manifest.json");
  bool changed = false;
  for (Value& entry : doc.items()) {
    const std::string* config = entry.is_object() ? entry.string_at("Config") : nullptr;
    const ImageUpdate* update = config ? update_for(*config, images) : nullptr;
    if (!update) continue;
    entry.set("Config", Value::make_string(update->config.blob_path()));
    Value layers = Value::make_array();
    for (const Digest& l : update->layers) layers.push_back(Value::make_string(l.blob_path()));
    entry.set("Layers", std::move(layers));
    changed = true;
  }
  return changed ? json::dump(doc) : bytes;
}

std::string rewrite_docker_repositories(const std::string& bytes, const std::map<Digest, ImageUpdate>& images) {
  if (images.empty()) return bytes;
  Value doc = json::parse(bytes, "repositories");
  if (!doc.is_object()) fail(Exit::data, "malformed docker save repositories file (want an object)", "repositories");
  bool changed = false;
  for (json::Member& repo : doc.members()) {
    if (!repo.value.is_object()) continue;
    for (json::Member& tag : repo.value.members()) {
      if (!tag.value.is_string()) continue;
      for (const auto& [old_config, update] : images) {
        // Docker names the image's top layer there; older tools the config.
        if (names(tag.value.text(), old_config)) {
          tag.value.text() = replace_reference(tag.value.text(), old_config, update.config);
          changed = true;
        } else if (update.old_top_layer && !update.layers.empty() && names(tag.value.text(), *update.old_top_layer)) {
          tag.value.text() = replace_reference(tag.value.text(), *update.old_top_layer, update.layers.back());
          changed = true;
        }
      }
    }
  }
  return changed ? json::dump(doc) : bytes;
}

}  // namespace olot
