// Stage 5, the rewrite (SPEC §5.2, §6.3, §6.4, §7), on layouts built in
// memory: an Inventory filled by hand, its Graph from build_graph.
//   - field preservation (B18): key order, number literals, unknown keys;
//   - history placeholders (B01) and the refusal of too much history;
//   - layers already present are not added again (B03c);
//   - attestations and referrers of replaced manifests are dropped (B08);
//   - documents that do not change keep their exact bytes.
#include "olot/rewrite.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "olot/error.h"
#include "olot/graph.h"
#include "olot/json.h"
#include "olot/layout_reader.h"
#include "olot/warnings.h"

namespace olot {
namespace {

constexpr std::string_view kIndex = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view kManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view kConfig = "application/vnd.oci.image.config.v1+json";
constexpr std::string_view kLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr std::string_view kLayerTar = "application/vnd.oci.image.layer.v1.tar";
constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const std::string kCreated = "2023-11-14T22:13:20Z";
const std::string kXVendor = R"("x-vendor":{"k":[1,2.50,1e3]})";

std::string q(std::string_view s) { return "\"" + std::string(s) + "\""; }

// An image layout held in memory the way read_layout leaves it.
struct Layout {
  Inventory inv;
  std::map<Digest, size_t> sizes;

  Digest doc(const std::string& bytes) {
    Digest d = digest_of(bytes);
    if (inv.blobs.insert(d, BlobRecord{bytes.size(), true, Compression::none})) inv.buffered_order.push_back(d);
    inv.documents[d] = bytes;
    sizes[d] = bytes.size();
    return d;
  }
  Digest blob(const std::string& bytes, Compression c) {
    Digest d = digest_of(bytes);
    inv.blobs.insert(d, BlobRecord{bytes.size(), false, c});
    sizes[d] = bytes.size();
    return d;
  }
  std::string desc(std::string_view type, const Digest& d, const std::string& extra = "") const {
    return "{\"mediaType\":" + q(type) + ",\"digest\":" + q(d.str()) + ",\"size\":" + std::to_string(sizes.at(d)) + extra +
           "}";
  }
};

struct Image {
  Digest layer, diff_id, config, manifest;
};

std::string ids(const std::vector<Digest>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + q(v[i].str());
  return out + "]";
}

std::string default_history() { return R"(,"history":[{"created":"2024-01-01T00:00:00Z","created_by":"ADD base.txt"}])"; }

// A one-layer image: gzip-looking layer, config, manifest.
Image add_image(Layout& l, const std::string& tag = "a", const std::string& history = default_history(),
                const std::string& manifest_extra = "", std::string_view manifest_type = kManifest,
                std::string_view config_type = kConfig, std::string_view layer_type = kLayerGzip) {
  Image im;
  im.layer = l.blob("\x1f\x8b layer " + tag, Compression::gzip);
  im.diff_id = digest_of("raw layer " + tag);
  im.config = l.doc(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":)" + ids({im.diff_id}) +
                    "}" + history + "}");
  im.manifest = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(manifest_type) + ",\"config\":" +
                      l.desc(config_type, im.config) + ",\"layers\":[" + l.desc(layer_type, im.layer) + "]" +
                      manifest_extra + "}");
  return im;
}

std::string ref(const std::string& name) {
  return R"(,"annotations":{"org.opencontainers.image.ref.name":")" + name + "\"}";
}

NewLayer model_layer(const std::string& name = "model.bin", bool modelcard = false) {
  NewLayer n;
  n.digest = digest_of("layer tar of " + name);
  n.diff_id = modelcard ? digest_of("uncompressed " + name) : n.digest;
  n.content_digest = digest_of("content of " + name);
  n.size = ("layer tar of " + name).size();  // the blob a test may add for it
  n.media_type = modelcard ? std::string(kLayerGzip) : std::string(kLayerTar);
  n.inlayer_path = "/models/" + name;
  n.title = name;
  n.modelcard = modelcard;
  return n;
}

ImageEdit model_edit() {
  ImageEdit e;
  e.layers = {model_layer(), model_layer("README.md", true)};
  e.created = kCreated;
  return e;
}

struct Run {
  Warnings warnings{-2};  // counted, not printed
  Graph graph;
  Rewritten result;
};

std::unique_ptr<Run> run(const Layout& l, const ImageEdit& edit, GraphOptions options = {}) {
  auto r = std::make_unique<Run>();
  r->graph = build_graph(l.inv, options);
  r->result = rewrite(r->graph, l.inv, edit, r->warnings);
  return r;
}

const Document* replacing(const Rewritten& r, const Digest& old) {
  for (const Document& d : r.documents)
    if (d.replaces == old) return &d;
  return nullptr;
}

const Document* of_kind(const Rewritten& r, Document::Kind kind) {
  const Document* found = nullptr;
  for (const Document& d : r.documents)
    if (d.kind == kind) {
      EXPECT_EQ(found, nullptr) << "more than one document of this kind";
      found = &d;
    }
  return found;
}

std::vector<std::string> keys(const json::Value& v) {
  std::vector<std::string> out;
  for (const json::Member& m : v.members()) out.push_back(m.key);
  return out;
}

std::string root_entry_digest(const Rewritten& r, size_t i = 0) {
  json::Value root = json::parse(r.index_json, "index.json");
  return *root.find("manifests")->items().at(i).string_at("digest");
}

// ---------------------------------------------------------------- B18

TEST(RewriteFields, ConfigKeepsKeyOrderNumbersAndUnknownKeysNewKeysLast) {
  Layout l;
  Digest layer = l.blob("\x1f\x8b base", Compression::gzip);
  Digest diff = digest_of("raw base");
  const std::string front = R"({"architecture":"amd64",)" + kXVendor +
                            R"(,"os":"linux","config":{"Env":["A=1"],"Healthcheck":{"Test":["CMD","true"],"Interval":3e10},)"
                            R"("Shell":["/bin/sh","-c"],"OnBuild":[],"StopSignal":"SIGTERM"},"rootfs":{"type":"layers","diff_ids":[)" +
                            q(diff.str());
  const std::string middle = R"(]},"history":[{"created":"2024-01-01T00:00:00Z","created_by":"ADD","comment":"2.50"})";
  const std::string back = R"(],"variant":"v8","os.version":"10.0","unknown":null,"n":-0.0e-0)";
  Digest config = l.doc(front + middle + back + "}");
  Digest manifest = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kManifest) + ",\"config\":" + l.desc(kConfig, config) +
                          ",\"layers\":[" + l.desc(kLayerGzip, layer) + "]}");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, manifest, ref("latest")) + "]}";

  auto r = run(l, model_edit());
  const Document* c = replacing(r->result, config);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, Document::Kind::config);
  const std::string& out = c->bytes;
  // the base's bytes up to the end of diff_ids, then the new diff_ids
  ASSERT_EQ(out.substr(0, front.size()), front) << out;
  std::string expected_ids = "," + q(model_layer().diff_id.str()) + "," + q(model_layer("README.md", true).diff_id.str());
  EXPECT_EQ(out.substr(front.size(), expected_ids.size()), expected_ids) << out;
  // history: the old entry byte for byte, then two new entries
  std::string after_ids = out.substr(front.size() + expected_ids.size());
  ASSERT_EQ(after_ids.substr(0, middle.size()), middle) << out;
  // the other keys in place, `created` appended last
  std::string tail = back + ",\"created\":" + q(kCreated) + "}";
  ASSERT_GE(out.size(), tail.size());
  EXPECT_EQ(out.substr(out.size() - tail.size()), tail) << out;

  json::Value v = json::parse(out, "config");
  EXPECT_EQ(keys(v), (std::vector<std::string>{"architecture", "x-vendor", "os", "config", "rootfs", "history", "variant",
                                               "os.version", "unknown", "n", "created"}));
  const json::Value* history = v.find("history");
  ASSERT_EQ(history->items().size(), 3u);
  EXPECT_EQ(*history->items()[1].string_at("created_by"), "olot-filter: add /models/model.bin");
  EXPECT_EQ(*history->items()[2].string_at("created_by"), "olot-filter: add /models/README.md");
  EXPECT_EQ(*history->items()[1].string_at("created"), kCreated);
  EXPECT_EQ(history->items()[1].find("empty_layer"), nullptr);
}

TEST(RewriteFields, ManifestKeepsFieldsAndAppendsLayersAndAnnotations) {
  Layout l;
  Image im = add_image(l, "a", default_history(),
                       R"(,"annotations":{"org.example.n":"1e3","org.opencontainers.image.base.digest":"sha256:keep"},)" +
                           kXVendor + R"(,"subject-like":{"size":1.50})");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, im.manifest, ref("latest")) + "]}";
  auto r = run(l, model_edit());
  const Document* m = replacing(r->result, im.manifest);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->kind, Document::Kind::manifest);
  EXPECT_EQ(m->media_type, kManifest);
  EXPECT_EQ(m->digest, digest_of(m->bytes));
  json::Value v = json::parse(m->bytes, "manifest");
  EXPECT_EQ(keys(v), (std::vector<std::string>{"schemaVersion", "mediaType", "config", "layers", "annotations", "x-vendor",
                                               "subject-like"}));
  EXPECT_NE(m->bytes.find(kXVendor), std::string::npos) << m->bytes;
  EXPECT_NE(m->bytes.find(R"("subject-like":{"size":1.50})"), std::string::npos) << m->bytes;
  // the base layer descriptor byte for byte, then the new ones
  std::string base_layer = l.desc(kLayerGzip, im.layer);
  EXPECT_NE(m->bytes.find("\"layers\":[" + base_layer + ",{"), std::string::npos) << m->bytes;
  const json::Value* layers = v.find("layers");
  ASSERT_EQ(layers->items().size(), 3u);
  const json::Value& added = layers->items()[1];
  EXPECT_EQ(*added.string_at("mediaType"), kLayerTar);
  EXPECT_EQ(*added.string_at("digest"), model_layer().digest.str());
  EXPECT_EQ(*added.uint_at("size"), model_layer().size);
  const json::Value* a = added.find("annotations");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*a->string_at("org.opencontainers.image.title"), "model.bin");
  EXPECT_EQ(*a->string_at("olot.layer.content.digest"), model_layer().content_digest.str());
  EXPECT_EQ(*a->string_at("olot.layer.content.type"), "file");
  EXPECT_EQ(*a->string_at("olot.layer.content.inlayerpath"), "/models/model.bin");
  EXPECT_EQ(*a->string_at("olot.layer.content.name"), "model.bin");
  EXPECT_EQ(a->find("io.opendatahub.modelcar.layer.type"), nullptr);
  const json::Value* card = layers->items()[2].find("annotations");
  EXPECT_EQ(*card->string_at("io.opendatahub.modelcar.layer.type"), "modelcard");
  // manifest annotations: old ones first and unchanged, base.digest kept as the base set it
  const json::Value* ann = v.find("annotations");
  EXPECT_EQ(keys(*ann)[0], "org.example.n");
  EXPECT_EQ(keys(*ann)[1], "org.opencontainers.image.base.digest");
  EXPECT_EQ(*ann->string_at("org.example.n"), "1e3");
  EXPECT_EQ(*ann->string_at("org.opencontainers.image.base.digest"), "sha256:keep");
  EXPECT_EQ(*ann->string_at("io.opendatahub.author"), "olot");
  EXPECT_EQ(*ann->string_at("io.opendatahub.layers.modelcard"), model_layer("README.md", true).digest.str());
  // the config descriptor points to the new config
  const Document* c = replacing(r->result, im.config);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(*v.find("config")->string_at("digest"), c->digest.str());
  EXPECT_EQ(*v.find("config")->uint_at("size"), c->bytes.size());
}

TEST(RewriteFields, BaseDigestAnnotationNamesTheManifestItWasMadeFrom) {
  Layout l;
  Image im = add_image(l);
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, im.manifest, ref("latest")) + "]}";
  auto r = run(l, model_edit());
  const Document* m = replacing(r->result, im.manifest);
  ASSERT_NE(m, nullptr);
  json::Value v = json::parse(m->bytes, "manifest");
  EXPECT_EQ(*v.find("annotations")->string_at("org.opencontainers.image.base.digest"), im.manifest.str());
}

// The index's entries get new digests and sizes; every other byte stays.
TEST(RewriteFields, IndexAndIndexJsonChangeOnlyDigestAndSize) {
  Layout l;
  Image im = add_image(l);
  auto index_bytes = [&](const std::string& digest, size_t size) {
    return "{\"schemaVersion\":2,\"mediaType\":" + q(kIndex) + ",\"manifests\":[{\"mediaType\":" + q(kManifest) +
           ",\"digest\":" + q(digest) + ",\"size\":" + std::to_string(size) +
           R"(,"artifactType":"application/vnd.example.x","platform":{"architecture":"arm64","os":"linux","variant":"v8",)"
           R"("os.version":"1.0","os.features":["f"],"features":["sse4"]},"annotations":{"k":"v"}}],)"
           R"("annotations":{"org.opencontainers.image.source":"https://git.example/repo"},)" +
           kXVendor + "}";
  };
  Digest index = l.doc(index_bytes(im.manifest.str(), l.sizes.at(im.manifest)));
  auto root_bytes = [&](const std::string& digest, size_t size) {
    return "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":" + q(kIndex) + ",\"digest\":" + q(digest) +
           ",\"size\":" + std::to_string(size) + ref("latest") + "}]," + kXVendor + "}";
  };
  l.inv.index_json = root_bytes(index.str(), l.sizes.at(index));

  auto r = run(l, model_edit());
  const Document* m = replacing(r->result, im.manifest);
  const Document* i = replacing(r->result, index);
  ASSERT_NE(m, nullptr);
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->kind, Document::Kind::index);
  EXPECT_EQ(i->bytes, index_bytes(m->digest.str(), m->bytes.size()));
  EXPECT_EQ(i->digest, digest_of(i->bytes));
  EXPECT_EQ(r->result.index_json, root_bytes(i->digest.str(), i->bytes.size()));
}

// ---------------------------------------------------------------- order, once

TEST(RewriteOrder, ConfigsThenManifestsThenIndexes) {
  Layout l;
  Image a = add_image(l, "a");
  Image b = add_image(l, "b");
  Digest index = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kIndex) + ",\"manifests\":[" + l.desc(kManifest, a.manifest) +
                       "," + l.desc(kManifest, b.manifest) + "]}");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kIndex, index, ref("latest")) + "]}";
  auto r = run(l, model_edit());
  ASSERT_EQ(r->result.documents.size(), 5u);
  EXPECT_TRUE(std::is_sorted(r->result.documents.begin(), r->result.documents.end(),
                             [](const Document& x, const Document& y) { return x.kind < y.kind; }));
  for (const Document& d : r->result.documents) EXPECT_EQ(d.digest, digest_of(d.bytes));
  EXPECT_EQ(r->result.documents.back().replaces, index);
  for (Digest old : {a.manifest, b.manifest, a.config, b.config, index}) EXPECT_TRUE(r->result.dropped.count(old)) << old.str();
}

TEST(RewriteOrder, ADocumentReferencedTwiceIsRewrittenOnce) {
  Layout l;
  Image im = add_image(l);
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, im.manifest, ref("one")) + "," +
                     l.desc(kManifest, im.manifest, ref("two")) + "]}";
  auto r = run(l, model_edit());
  ASSERT_EQ(r->result.documents.size(), 2u);
  const Document* m = replacing(r->result, im.manifest);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(root_entry_digest(r->result, 0), m->digest.str());
  EXPECT_EQ(root_entry_digest(r->result, 1), m->digest.str());
  EXPECT_EQ(r->result.modified_roots.size(), 2u);
}

TEST(RewriteOrder, ModifiedRootsAndImageUpdates) {
  Layout l;
  Image im = add_image(l);
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, im.manifest, ref("latest")) + "]}";
  ImageEdit e = model_edit();
  e.tag = "modelcar";
  auto r = run(l, e);
  const Document* m = replacing(r->result, im.manifest);
  const Document* c = replacing(r->result, im.config);
  ASSERT_NE(m, nullptr);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(r->result.modified_roots.size(), 1u);
  EXPECT_EQ(r->result.modified_roots[0].second, m->digest);
  json::Value root = json::parse(r->result.index_json, "index.json");
  EXPECT_EQ(ref_name_of(root.find("manifests")->items()[0]), "modelcar");
  ASSERT_TRUE(r->result.images.count(im.config));
  const ImageUpdate& u = r->result.images.at(im.config);
  EXPECT_EQ(u.config, c->digest);
  EXPECT_EQ(u.layers, (std::vector<Digest>{im.layer, model_layer().digest, model_layer("README.md", true).digest}));
}

// ---------------------------------------------------------------- B01

std::unique_ptr<Run> history_run(const std::string& history, size_t base_layers, Layout& l, Digest& manifest) {
  std::vector<Digest> diffs;
  std::string layers;
  for (size_t i = 0; i < base_layers; ++i) {
    Digest layer = l.blob("\x1f\x8b layer " + std::to_string(i), Compression::gzip);
    diffs.push_back(digest_of("raw " + std::to_string(i)));
    layers += (i ? "," : "") + l.desc(kLayerGzip, layer);
  }
  Digest config = l.doc(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":)" + ids(diffs) + "}" +
                        history + "}");
  manifest = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kManifest) + ",\"config\":" + l.desc(kConfig, config) +
                   ",\"layers\":[" + layers + "]}");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, manifest, ref("latest")) + "]}";
  return run(l, model_edit());
}

json::Value new_config(const Rewritten& r) {
  const Document* c = of_kind(r, Document::Kind::config);
  EXPECT_NE(c, nullptr);
  return c ? json::parse(c->bytes, "config") : json::Value();
}

void expect_placeholders(const json::Value& history, size_t from, size_t count) {
  for (size_t i = from; i < from + count; ++i) {
    const json::Value& h = history.items().at(i);
    EXPECT_EQ(*h.string_at("created_by"), "olot-filter: history missing in base") << i;
    EXPECT_EQ(*h.string_at("created"), kCreated) << i;
    EXPECT_EQ(h.find("empty_layer"), nullptr) << i;
  }
}

size_t non_empty(const json::Value& history) {
  return static_cast<size_t>(std::count_if(history.items().begin(), history.items().end(), [](const json::Value& h) {
    const json::Value* e = h.find("empty_layer");
    return !(e && e->type() == json::Value::Type::boolean && e->flag());
  }));
}

TEST(RewriteHistory, NoHistoryGetsOnePlaceholderPerBaseLayerAndAWarning) {
  Layout l;
  Digest m;
  auto r = history_run("", 2, l, m);
  json::Value cfg = new_config(r->result);
  const json::Value* h = cfg.find("history");
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(h->items().size(), 4u);
  expect_placeholders(*h, 0, 2);
  EXPECT_EQ(*h->items()[2].string_at("created_by"), "olot-filter: add /models/model.bin");
  EXPECT_EQ(*h->items()[3].string_at("created_by"), "olot-filter: add /models/README.md");
  EXPECT_EQ(r->warnings.count(), 1);
}

TEST(RewriteHistory, NullHistoryIsLikeNoHistory) {
  Layout l;
  Digest m;
  auto r = history_run(R"(,"history":null)", 2, l, m);
  json::Value cfg = new_config(r->result);
  ASSERT_TRUE(cfg.find("history") && cfg.find("history")->is_array());
  EXPECT_EQ(cfg.find("history")->items().size(), 4u);
  expect_placeholders(*cfg.find("history"), 0, 2);
  EXPECT_EQ(r->warnings.count(), 1);
}

TEST(RewriteHistory, PartialHistoryIsPaddedBeforeTheNewEntries) {
  Layout l;
  Digest m;
  auto r = history_run(R"(,"history":[{"created_by":"ENV A=1","empty_layer":true},{"created_by":"ADD a"}])", 3, l, m);
  json::Value cfg = new_config(r->result);
  const json::Value* h = cfg.find("history");
  ASSERT_EQ(h->items().size(), 2u + 2u + 2u);
  EXPECT_EQ(*h->items()[0].string_at("created_by"), "ENV A=1");
  EXPECT_EQ(*h->items()[1].string_at("created_by"), "ADD a");
  expect_placeholders(*h, 2, 2);
  EXPECT_EQ(*h->items()[4].string_at("created_by"), "olot-filter: add /models/model.bin");
  EXPECT_EQ(non_empty(*h), 3u + 2u);
  EXPECT_EQ(r->warnings.count(), 1);
}

TEST(RewriteHistory, ConsistentHistoryNeedsNoPlaceholdersAndNoWarning) {
  Layout l;
  Digest m;
  auto r = history_run(R"(,"history":[{"created_by":"ADD a"},{"created_by":"x","empty_layer":true},{"created_by":"ADD b"}])", 2,
                       l, m);
  json::Value cfg = new_config(r->result);
  EXPECT_EQ(cfg.find("history")->items().size(), 5u);
  EXPECT_EQ(non_empty(*cfg.find("history")), 4u);
  EXPECT_EQ(r->warnings.count(), 0);
}

TEST(RewriteHistory, ZeroLayersNoHistoryNeedsNoPlaceholders) {
  Layout l;
  Digest m;
  auto r = history_run("", 0, l, m);
  json::Value cfg = new_config(r->result);
  EXPECT_EQ(cfg.find("history")->items().size(), 2u);
  EXPECT_EQ(r->warnings.count(), 0);
}

TEST(RewriteHistory, MoreNonEmptyEntriesThanLayersIsRefused) {
  Layout l;
  Digest m;
  try {
    history_run(R"(,"history":[{"created_by":"ADD a"},{"created_by":"ADD b"}])", 1, l, m);
    ADD_FAILURE() << "accepted 2 non-empty history entries for 1 layer";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::data);
    std::string what = e.what();
    EXPECT_NE(what.find(m.str()), std::string::npos) << what;
    EXPECT_NE(what.find('2'), std::string::npos) << what;
  }
}

TEST(RewriteHistory, LayersAndDiffIdsThatDisagreeInCountAreRefused) {
  Layout l;
  Digest layer = l.blob("\x1f\x8b x", Compression::gzip);
  Digest config = l.doc(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})");
  Digest m = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kManifest) + ",\"config\":" + l.desc(kConfig, config) +
                   ",\"layers\":[" + l.desc(kLayerGzip, layer) + "]}");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, m, ref("latest")) + "]}";
  try {
    run(l, model_edit());
    ADD_FAILURE() << "appended to an image whose layers and diff_ids disagree";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::data);
    EXPECT_NE(std::string(e.what()).find(m.str()), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- B03c

TEST(RewriteIdempotent, HasLayerMatchesDigestAndPath) {
  NewLayer n = model_layer();
  Node node;
  node.doc = json::parse(R"({"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" + n.digest.str() +
                             R"(","size":22,"annotations":{"olot.layer.content.inlayerpath":"/models/model.bin"}}]})",
                         "manifest");
  EXPECT_TRUE(has_layer(node.doc, n.digest, "/models/model.bin"));
  EXPECT_FALSE(has_layer(node.doc, n.digest, "/models/other.bin"));
  EXPECT_FALSE(has_layer(node.doc, digest_of("other"), "/models/model.bin"));
  Node empty;
  empty.doc = json::parse("{}", "manifest");
  EXPECT_FALSE(has_layer(empty.doc, n.digest, "/models/model.bin"));
}

// The descriptor an earlier run left for n.
std::string present_layer(const NewLayer& n) {
  return "{\"mediaType\":" + q(n.media_type) + ",\"digest\":" + q(n.digest.str()) + ",\"size\":" + std::to_string(n.size) +
         R"(,"annotations":{"olot.layer.content.inlayerpath":")" + n.inlayer_path + "\"}}";
}

TEST(RewriteIdempotent, LayersAlreadyPresentAreNotAddedAgainAndNothingChanges) {
  Layout l;
  NewLayer n = model_layer();
  l.blob("layer tar of model.bin", Compression::none);  // digest == n.digest
  Digest base = l.blob("\x1f\x8b base", Compression::gzip);
  Digest config = l.doc(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":)" +
                        ids({digest_of("raw"), n.diff_id}) + R"(},"history":[{"created_by":"a"},{"created_by":"b"}]})");
  Digest m = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kManifest) + ",\"config\":" + l.desc(kConfig, config) +
                   ",\"layers\":[" + l.desc(kLayerGzip, base) + "," + present_layer(n) + "]}");
  // pretty, with a trailing newline: an unchanged index.json keeps its bytes
  const std::string root = "{\n  \"schemaVersion\": 2,\n  \"manifests\": [" + l.desc(kManifest, m, ref("latest")) + "]\n}\n";
  l.inv.index_json = root;
  ImageEdit e;
  e.layers = {n};
  e.created = kCreated;
  auto r = run(l, e);
  EXPECT_TRUE(r->result.documents.empty());
  EXPECT_EQ(r->result.index_json, root);
  EXPECT_TRUE(r->result.dropped.empty());
  EXPECT_TRUE(r->result.modified_roots.empty());
}

TEST(RewriteIdempotent, OnlyTheMissingLayerIsAdded) {
  Layout l;
  NewLayer present = model_layer();
  NewLayer missing = model_layer("README.md", true);
  Digest base = l.blob("\x1f\x8b base", Compression::gzip);
  l.blob("layer tar of model.bin", Compression::none);
  Digest config = l.doc(R"({"rootfs":{"type":"layers","diff_ids":)" + ids({digest_of("raw"), present.diff_id}) +
                        R"(},"history":[{"created_by":"a"},{"created_by":"b"}]})");
  Digest m = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kManifest) + ",\"config\":" + l.desc(kConfig, config) +
                   ",\"layers\":[" + l.desc(kLayerGzip, base) + "," + present_layer(present) + "]}");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, m, ref("latest")) + "]}";
  ImageEdit e;
  e.layers = {present, missing};
  e.created = kCreated;
  auto r = run(l, e);
  const Document* doc = replacing(r->result, m);
  ASSERT_NE(doc, nullptr);
  json::Value v = json::parse(doc->bytes, "manifest");
  const json::Value* layers = v.find("layers");
  ASSERT_EQ(layers->items().size(), 3u);
  EXPECT_EQ(*layers->items()[2].string_at("digest"), missing.digest.str());
  json::Value cfg = new_config(r->result);
  EXPECT_EQ(cfg.find("rootfs")->find("diff_ids")->items().size(), 3u);
  EXPECT_EQ(cfg.find("history")->items().size(), 3u);
}

// ---------------------------------------------------------------- unchanged bytes

TEST(RewriteUnchanged, NothingToDoKeepsIndexJsonBytes) {
  Layout l;
  Image im = add_image(l);
  const std::string root = "{ \"schemaVersion\" : 2, \"manifests\" : [ " + l.desc(kManifest, im.manifest, ref("latest")) + " ] }";
  l.inv.index_json = root;
  ImageEdit e;
  e.created = kCreated;
  auto r = run(l, e);
  EXPECT_TRUE(r->result.documents.empty());
  EXPECT_EQ(r->result.index_json, root);
  EXPECT_TRUE(r->result.dropped.empty());
}

TEST(RewriteUnchanged, UnselectedRootEntriesAndTheirDocumentsAreNotTouched) {
  Layout l;
  Image a = add_image(l, "a");
  // b: a manifest written with spaces; its bytes and digest must survive
  Digest b_layer = l.blob("\x1f\x8b b", Compression::gzip);
  Digest b_config = l.doc(R"({"architecture": "arm64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [)" +
                          q(digest_of("raw b").str()) + R"(]}, "history": [{"created_by": "ADD"}]})");
  Digest b = l.doc("{\n \"schemaVersion\": 2,\n \"mediaType\": " + q(kManifest) + ",\n \"config\": " +
                   l.desc(kConfig, b_config) + ",\n \"layers\": [" + l.desc(kLayerGzip, b_layer) + "]\n}\n");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, a.manifest, ref("a")) + "," +
                     l.desc(kManifest, b, ref("b")) + "]}";
  GraphOptions o;
  o.refs = {"a"};
  auto r = run(l, model_edit(), o);
  EXPECT_NE(replacing(r->result, a.manifest), nullptr);
  EXPECT_EQ(replacing(r->result, b), nullptr);
  EXPECT_EQ(replacing(r->result, b_config), nullptr);
  EXPECT_FALSE(r->result.dropped.count(b));
  EXPECT_FALSE(r->result.dropped.count(b_config));
  EXPECT_EQ(root_entry_digest(r->result, 1), b.str());
  json::Value root = json::parse(r->result.index_json, "index.json");
  EXPECT_EQ(json::dump(root.find("manifests")->items()[1]), l.desc(kManifest, b, ref("b")));
}

TEST(RewriteUnchanged, ConversionOnlyKeepsTheConfigBytes) {
  Layout l;
  Image im = add_image(l, "a", default_history(), "", kDockerManifest, kDockerConfig, kDockerLayerGzip);
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kDockerManifest, im.manifest, ref("latest")) + "]}";
  ImageEdit e;
  e.created = kCreated;
  auto r = run(l, e);
  ASSERT_EQ(r->result.documents.size(), 1u);
  const Document& m = r->result.documents[0];
  EXPECT_EQ(m.replaces, im.manifest);
  EXPECT_EQ(m.media_type, kManifest);
  json::Value v = json::parse(m.bytes, "manifest");
  EXPECT_EQ(*v.string_at("mediaType"), kManifest);
  EXPECT_EQ(*v.find("config")->string_at("mediaType"), kConfig);
  EXPECT_EQ(*v.find("config")->string_at("digest"), im.config.str());  // same config bytes
  EXPECT_EQ(*v.find("layers")->items()[0].string_at("mediaType"), kLayerGzip);
  EXPECT_EQ(*v.find("layers")->items()[0].string_at("digest"), im.layer.str());
  EXPECT_FALSE(r->result.dropped.count(im.config));
  EXPECT_TRUE(r->result.dropped.count(im.manifest));
  json::Value root = json::parse(r->result.index_json, "index.json");
  EXPECT_EQ(*root.find("manifests")->items()[0].string_at("mediaType"), kManifest);
  EXPECT_EQ(*root.find("manifests")->items()[0].string_at("digest"), m.digest.str());
}

TEST(RewriteUnchanged, UnknownMediaTypesStayInPlace) {
  Layout l;
  Image im = add_image(l);
  Digest u = l.doc(R"({"hello":"world"})");
  Digest x = l.blob("<x/>", Compression::none);
  std::string ue = l.desc("application/vnd.example.unknown+json", u);
  std::string xe = l.desc("application/xml", x);
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + ue + "," + l.desc(kManifest, im.manifest, ref("latest")) + "," +
                     xe + "]}";
  auto r = run(l, model_edit());
  json::Value root = json::parse(r->result.index_json, "index.json");
  const json::Value* ms = root.find("manifests");
  ASSERT_EQ(ms->items().size(), 3u);
  EXPECT_EQ(json::dump(ms->items()[0]), ue);
  EXPECT_EQ(json::dump(ms->items()[2]), xe);
  EXPECT_FALSE(r->result.dropped.count(u));
  EXPECT_FALSE(r->result.dropped.count(x));
}

TEST(RewriteUnchanged, DockerListBecomesAnOciIndexKeepingPlatformsAndAnnotations) {
  Layout l;
  Image a = add_image(l, "a", default_history(), "", kDockerManifest, kDockerConfig, kDockerLayerGzip);
  const std::string entry_extra = R"(,"platform":{"architecture":"arm64","os":"linux","variant":"v8"},"annotations":{"k":"v"})";
  Digest list = l.doc(R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[)" +
                      l.desc(kDockerManifest, a.manifest, entry_extra) + "]}");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" +
                     l.desc("application/vnd.docker.distribution.manifest.list.v2+json", list, ref("latest")) + "]}";
  auto r = run(l, model_edit());
  const Document* i = replacing(r->result, list);
  const Document* m = replacing(r->result, a.manifest);
  ASSERT_NE(i, nullptr);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(i->media_type, kIndex);
  EXPECT_EQ(i->bytes, "{\"schemaVersion\":2,\"mediaType\":" + q(kIndex) + ",\"manifests\":[{\"mediaType\":" + q(kManifest) +
                          ",\"digest\":" + q(m->digest.str()) + ",\"size\":" + std::to_string(m->bytes.size()) + entry_extra +
                          "}]}");
  json::Value root = json::parse(r->result.index_json, "index.json");
  EXPECT_EQ(*root.find("manifests")->items()[0].string_at("mediaType"), kIndex);
  EXPECT_EQ(ref_name_of(root.find("manifests")->items()[0]), "latest");
}

TEST(RewriteLabels, LabelsAreAddedAfterExistingOnesInPlace) {
  Layout l;
  Digest layer = l.blob("\x1f\x8b x", Compression::gzip);
  Digest config = l.doc(R"({"config":{"Env":["A=1"],"Labels":{"old":"1","x":"y"},"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":)" +
                        ids({digest_of("raw")}) + R"(},"history":[{"created_by":"a"}]})");
  Digest m = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kManifest) + ",\"config\":" + l.desc(kConfig, config) +
                   ",\"layers\":[" + l.desc(kLayerGzip, layer) + "]}");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, m, ref("latest")) + "]}";
  ImageEdit e = model_edit();
  e.labels = {{"x", "z"}, {"new", "2"}};
  e.annotations = {{"org.example.a", "b"}};
  auto r = run(l, e);
  json::Value cfg = new_config(r->result);
  EXPECT_EQ(keys(*cfg.find("config")), (std::vector<std::string>{"Env", "Labels", "Cmd"}));
  const json::Value* labels = cfg.find("config")->find("Labels");
  EXPECT_EQ(keys(*labels), (std::vector<std::string>{"old", "x", "new"}));
  EXPECT_EQ(*labels->string_at("x"), "z");
  EXPECT_EQ(*labels->string_at("new"), "2");
  json::Value man = json::parse(replacing(r->result, m)->bytes, "manifest");
  EXPECT_EQ(*man.find("annotations")->string_at("org.example.a"), "b");
}

TEST(RewriteLabels, LabelsOnlyStillRewriteTheImage) {
  Layout l;
  Image im = add_image(l);
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, im.manifest, ref("latest")) + "]}";
  ImageEdit e;
  e.created = kCreated;
  e.labels = {{"k", "v"}};
  auto r = run(l, e);
  json::Value cfg = new_config(r->result);
  ASSERT_NE(cfg.find("config"), nullptr);
  EXPECT_EQ(*cfg.find("config")->find("Labels")->string_at("k"), "v");
  EXPECT_EQ(cfg.find("rootfs")->find("diff_ids")->items().size(), 1u);
  EXPECT_NE(replacing(r->result, im.manifest), nullptr);
}

// ---------------------------------------------------------------- B08

TEST(RewriteAttestations, AttestationOfAReplacedManifestIsDroppedWithAWarning) {
  Layout l;
  Image im = add_image(l, "img");
  Digest statement = l.doc(R"({"_type":"https://in-toto.io/Statement/v0.1"})");
  Digest att_config = l.doc(R"({"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}})");
  Digest att = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kManifest) + ",\"config\":" + l.desc(kConfig, att_config) +
                     ",\"layers\":[" + l.desc("application/vnd.in-toto+json", statement) + "]}");
  std::string att_entry = l.desc(kManifest, att,
                                 R"(,"platform":{"architecture":"unknown","os":"unknown"},"annotations":{)"
                                 R"("vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":")" +
                                     im.manifest.str() + "\"}");
  Digest index = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kIndex) + ",\"manifests\":[" +
                       l.desc(kManifest, im.manifest, R"(,"platform":{"architecture":"amd64","os":"linux"})") + "," +
                       att_entry + "]}");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kIndex, index, ref("latest")) + "]}";
  auto r = run(l, model_edit());
  EXPECT_EQ(r->warnings.count(), 1);
  EXPECT_TRUE(r->result.dropped.count(att));
  EXPECT_EQ(replacing(r->result, att), nullptr) << "the attestation was modified";
  EXPECT_EQ(replacing(r->result, att_config), nullptr);
  const Document* i = replacing(r->result, index);
  ASSERT_NE(i, nullptr);
  json::Value v = json::parse(i->bytes, "index");
  ASSERT_EQ(v.find("manifests")->items().size(), 1u);
  EXPECT_EQ(*v.find("manifests")->items()[0].string_at("digest"), replacing(r->result, im.manifest)->digest.str());
  EXPECT_FALSE(r->result.drop_reasons.empty());
}

TEST(RewriteAttestations, ReferrerOfAReplacedManifestIsDropped) {
  Layout l;
  Image im = add_image(l, "img");
  Digest empty = l.doc("{}");
  Digest sig = l.blob("signature", Compression::none);
  Digest referrer = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kManifest) +
                          R"(,"artifactType":"application/vnd.example.signature.v1","config":)" +
                          l.desc("application/vnd.oci.empty.v1+json", empty) + ",\"layers\":[" +
                          l.desc("application/octet-stream", sig) + "],\"subject\":" + l.desc(kManifest, im.manifest) + "}");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, im.manifest, ref("latest")) + "," +
                     l.desc(kManifest, referrer, ref("sig")) + "]}";
  auto r = run(l, model_edit());
  EXPECT_EQ(r->warnings.count(), 1);
  EXPECT_TRUE(r->result.dropped.count(referrer));
  json::Value root = json::parse(r->result.index_json, "index.json");
  ASSERT_EQ(root.find("manifests")->items().size(), 1u);
  EXPECT_EQ(ref_name_of(root.find("manifests")->items()[0]), "latest");
}

TEST(RewriteAttestations, AttestationOfAnUntouchedManifestStays) {
  Layout l;
  Image a = add_image(l, "a");
  Image b = add_image(l, "b");
  Digest statement = l.doc(R"({"_type":"https://in-toto.io/Statement/v0.1","n":2})");
  Digest att_config = l.doc(R"({"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]},"n":1})");
  Digest att = l.doc("{\"schemaVersion\":2,\"mediaType\":" + q(kManifest) + ",\"config\":" + l.desc(kConfig, att_config) +
                     ",\"layers\":[" + l.desc("application/vnd.in-toto+json", statement) + "]}");
  std::string att_entry = l.desc(kManifest, att,
                                 R"(,"annotations":{"vnd.docker.reference.type":"attestation-manifest",)"
                                 R"("vnd.docker.reference.digest":")" + b.manifest.str() + "\"}");
  l.inv.index_json = R"({"schemaVersion":2,"manifests":[)" + l.desc(kManifest, a.manifest, ref("a")) + "," +
                     l.desc(kManifest, b.manifest, ref("b")) + "," + att_entry + "]}";
  GraphOptions o;
  o.refs = {"a"};
  auto r = run(l, model_edit(), o);
  EXPECT_EQ(r->warnings.count(), 0);
  EXPECT_FALSE(r->result.dropped.count(att));
  json::Value root = json::parse(r->result.index_json, "index.json");
  ASSERT_EQ(root.find("manifests")->items().size(), 3u);
  EXPECT_EQ(json::dump(root.find("manifests")->items()[2]), att_entry);
}

}  // namespace
}  // namespace olot
