#include "olot/docker_save.h"

#include "olot/error.h"
#include "olot/json.h"

namespace olot {

namespace {

using json::Value;

// Config references appear as blob paths, bare hex IDs and digests.
const ImageUpdate* update_for(const std::string& reference, const std::map<Digest, ImageUpdate>& images) {
  for (const auto& [old, update] : images)
    if (reference == old.blob_path() || reference == old.hex || reference == old.str()) return &update;
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
  for (Value& entry : doc.items) {
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
  for (json::Member& repo : doc.members) {
    if (!repo.value.is_object()) continue;
    for (json::Member& tag : repo.value.members) {
      if (!tag.value.is_string()) continue;
      for (const auto& [old, update] : images) {
        if (tag.value.text == old.hex || tag.value.text == old.str() || tag.value.text == old.blob_path()) {
          tag.value.text = replace_reference(tag.value.text, old, update.config);
          changed = true;
        }
      }
    }
  }
  return changed ? json::dump(doc) : bytes;
}

}  // namespace olot
