// docker save (Docker Engine 25 and later) puts a manifest.json and a
// repositories file beside the OCI layout; `docker load` reads those, so
// they must name the new configs and layers (SPEC §5.3).
#pragma once

#include <map>
#include <string>

#include "olot/rewrite.h"

namespace olot {

// manifest.json with every entry whose Config is a rewritten image pointing
// to the new config and its full layer list; other entries kept as they are.
std::string rewrite_docker_manifest(const std::string& bytes, const std::map<Digest, ImageUpdate>& images);

// repositories with every image ID of a rewritten image replaced.
std::string rewrite_docker_repositories(const std::string& bytes, const std::map<Digest, ImageUpdate>& images);

}  // namespace olot
