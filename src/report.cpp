#include "olot/report.h"


#include "olot/error.h"
#include "olot/output.h"

namespace olot {

namespace {

using json::Value;

Value str(const std::string& s) { return Value::make_string(s); }

std::string_view kind_name(Document::Kind kind) {
  switch (kind) {
    case Document::Kind::config: return "config";
    case Document::Kind::manifest: return "manifest";
    case Document::Kind::index: return "index";
  }
  return "";
}

Value document_entry(const Document& d) {
  Value v = Value::make_object();
  v.set("kind", str(std::string(kind_name(d.kind))));
  v.set("old", d.replaces.empty() ? Value::make_null() : str(d.replaces.str()));
  v.set("new", str(d.digest.str()));
  v.set("mediaType", str(d.media_type));
  return v;
}

Value layer_entry(const NewLayer& l) {
  Value v = Value::make_object();
  v.set("path", str(l.inlayer_path));
  v.set("digest", str(l.digest.str()));
  v.set("diffId", str(l.diff_id.str()));
  v.set("size", Value::make_uint(l.size));
  v.set("contentDigest", l.packed ? Value::make_null() : str(l.content_digest.str()));
  v.set("mediaType", str(l.media_type));
  return v;
}

}  // namespace

json::Value build_report(const ImageEdit& edit, const Rewritten& result) {
  Value report = Value::make_object();
  report.set("version", Value::make_uint(1));
  Value roots = Value::make_array();
  for (const auto& [ref, digest] : result.modified_roots) {
    Value r = Value::make_object();
    r.set("ref", ref.empty() ? Value::make_null() : str(ref));
    r.set("digest", str(digest.str()));
    roots.push_back(std::move(r));
  }
  report.set("roots", std::move(roots));
  Value documents = Value::make_array();
  for (const Document& d : result.documents) documents.push_back(document_entry(d));
  report.set("documents", std::move(documents));
  Value layers = Value::make_array();
  for (const NewLayer& l : edit.layers) layers.push_back(layer_entry(l));
  report.set("layers", std::move(layers));
  Value conversions = Value::make_array();
  for (const std::string& c : result.conversions) conversions.push_back(str(c));
  report.set("conversions", std::move(conversions));
  Value dropped = Value::make_array();
  for (const auto& [digest, reason] : result.drop_reasons) {
    Value d = Value::make_object();
    d.set("digest", str(digest.str()));
    d.set("reason", str(reason));
    dropped.push_back(std::move(d));
  }
  report.set("dropped", std::move(dropped));
  return report;
}

void write_report(const std::filesystem::path& path, const json::Value& report) {
  write_file_atomically(path.string(), json::dump(report) + "\n");
}

std::string describe_plan(const ImageEdit& edit, const Rewritten& result) {
  std::string plan;
  for (const NewLayer& l : edit.layers)
    plan += "plan: add layer " + l.inlayer_path + " " + l.digest.str() + " (" + std::to_string(l.size) + " bytes)\n";
  for (const std::string& c : result.conversions) plan += "plan: convert " + c + "\n";
  for (const Document& d : result.documents)
    plan += "plan: write " + std::string(kind_name(d.kind)) + " " + d.digest.str() +
            (d.replaces.empty() ? std::string(" (new)") : " (replaces " + d.replaces.str() + ")") + "\n";
  for (const auto& [digest, reason] : result.drop_reasons) plan += "plan: drop " + digest.str() + " (" + reason + ")\n";
  for (const auto& [ref, digest] : result.modified_roots)
    plan += "plan: root " + (ref.empty() ? std::string("(no ref name)") : ref) + " -> " + digest.str() + "\n";
  return plan;
}

std::string summary_line(const ImageEdit& edit, const Rewritten& result) {
  std::string line = "added " + std::to_string(edit.layers.size()) + " layer(s), rewrote " +
                     std::to_string(result.documents.size()) + " document(s), " +
                     std::to_string(result.conversions.size()) + " conversion(s)";
  if (!result.drop_reasons.empty())
    line += ", dropped " + std::to_string(result.drop_reasons.size()) + " index " +
            (result.drop_reasons.size() == 1 ? "entry" : "entries");
  for (const auto& [ref, digest] : result.modified_roots)
    line += "; " + (ref.empty() ? std::string("root") : ref) + " " + digest.str();
  return line;
}

}  // namespace olot
