// What a run did, for people and scripts: the --report JSON, the --dry-run
// plan and the one-line summary.
#pragma once

#include <filesystem>
#include <string>

#include "olot/json.h"
#include "olot/rewrite.h"

namespace olot {

// Schema (documented in olot-filter(1)):
// {"version":1,
//  "roots":[{"ref":NAME,"digest":D}],
//  "documents":[{"kind":"config|manifest|index","old":D|null,"new":D,"mediaType":T}],
//  "layers":[{"path":P,"digest":D,"diffId":D,"size":N,"contentDigest":D|null,"mediaType":T}],
//  "conversions":[TEXT],
//  "dropped":[{"digest":D,"reason":TEXT}]}
json::Value build_report(const ImageEdit& edit, const Rewritten& result);

// Writes the report atomically; Error(Exit::cant_create) if it cannot.
void write_report(const std::filesystem::path& path, const json::Value& report);

// The plan, a line each, for --dry-run.
std::string describe_plan(const ImageEdit& edit, const Rewritten& result);

std::string summary_line(const ImageEdit& edit, const Rewritten& result);

}  // namespace olot
