#include "sources/manifest_directory.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/utf8.h"
#include "temp_dir.h"

namespace meridian::sources {
namespace {

using meridian::test_support::TempDir;

namespace fs = std::filesystem;

std::string Service(const std::string& name, const std::string& ip, int port = 80) {
  return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
         "\nspec:\n  clusterIP: " + ip + "\n  ports:\n  - port: " + std::to_string(port) + "\n";
}

std::string Slice(const std::string& name) {
  return "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + name +
         "\n  labels: {kubernetes.io/service-name: web}\naddressType: IPv4\n";
}

std::vector<std::string> ServiceNames(const model::ResourceSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& svc : s.services) out.push_back(svc.meta.key.name);
  return out;
}

std::vector<std::string> Messages(const ManifestDirectoryState& s) {
  std::vector<std::string> out;
  for (const auto& e : s.errors) out.push_back(e.message);
  return out;
}

using Names = std::vector<std::string>;

class ManifestDirectoryTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  ManifestDirectory dir_{tmp_.path()};
};

TEST_F(ManifestDirectoryTest, LoadsManifestsInSortedOrder) {
  tmp_.Write("b.yaml", Service("b", "10.96.0.2"));
  tmp_.Write("a.yml", Service("a", "10.96.0.1") + "---\n" + Slice("a-1"));
  tmp_.Write("c.json", R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"},
    "spec": {"clusterIP": "10.96.0.3", "ports": [{"port": 80}]}})");

  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_TRUE(s.changed);
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a", "b", "c"}));
  ASSERT_EQ(s.snapshot.endpoint_slices.size(), 1u);
  EXPECT_EQ(s.snapshot.endpoint_slices[0].meta.source, (model::SourceRef{tmp_.Path("a.yml"), 1}));
  EXPECT_EQ(s.snapshot.services[1].meta.source, (model::SourceRef{tmp_.Path("b.yaml"), 0}));
  EXPECT_EQ(dir_.decoded_files(), 3u);
}

TEST_F(ManifestDirectoryTest, EmptyDirectoryIsAChangeOnlyTheFirstTime) {
  ManifestDirectoryState first = dir_.Reload();
  EXPECT_TRUE(first.changed);
  EXPECT_EQ(first.snapshot, model::ResourceSnapshot{});
  EXPECT_EQ(Messages(first), Names{});
  EXPECT_FALSE(dir_.Reload().changed);
}

TEST_F(ManifestDirectoryTest, UnchangedFilesAreNotDecodedAgain) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("b", "10.96.0.2"));
  dir_.Reload();
  EXPECT_EQ(dir_.decoded_files(), 2u);

  ManifestDirectoryState s = dir_.Reload();
  EXPECT_FALSE(s.changed);
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a", "b"}));
  EXPECT_EQ(dir_.decoded_files(), 2u);

  tmp_.Write("b.yaml", Service("b", "10.96.0.2", 81));
  s = dir_.Reload();
  EXPECT_TRUE(s.changed);
  EXPECT_EQ(dir_.decoded_files(), 3u);  // only b.yaml
  EXPECT_EQ(s.snapshot.services.at(1).ports.at(0).port, 81);
}

// "changed" is decided where objects change, not by comparing snapshots:
// a reformatted file with the same objects is no change, a removed file is.
TEST_F(ManifestDirectoryTest, ChangedFollowsTheServedObjectsOnly) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("b", "10.96.0.2"));
  dir_.Reload();
  tmp_.Write("a.yaml", "# a comment\n" + Service("a", "10.96.0.1"));
  ManifestDirectoryState same = dir_.Reload();
  EXPECT_FALSE(same.changed);
  EXPECT_EQ(dir_.decoded_files(), 3u);  // decoded, and equal
  EXPECT_EQ(ServiceNames(same.snapshot), (Names{"a", "b"}));
  std::filesystem::remove(tmp_.Path("b.yaml"));
  ManifestDirectoryState gone = dir_.Reload();
  EXPECT_TRUE(gone.changed);
  EXPECT_EQ(ServiceNames(gone.snapshot), (Names{"a"}));
  EXPECT_FALSE(dir_.Reload().changed);
}

TEST_F(ManifestDirectoryTest, BadEditKeepsLastGoodVersionAndReportsEveryTime) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("b", "10.96.0.2"));
  dir_.Reload();

  // Document 1 of the new content is fine, document 2 is not: the whole
  // file is rejected, including its new Service c.
  tmp_.Write("a.yaml", Service("a", "10.96.0.1", 81) + "---\n" + Service("c", "10.96.0.3", 70000));
  const std::string error = tmp_.Path("a.yaml") +
                            ": document 2: Service default/c: spec.ports[0].port: 70000 is out "
                            "of range 1-65535";
  for (int reload = 0; reload < 2; ++reload) {
    ManifestDirectoryState s = dir_.Reload();
    EXPECT_FALSE(s.changed);
    EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a", "b"}));
    EXPECT_EQ(s.snapshot.services.at(0).ports.at(0).port, 80);  // the last good version
    ASSERT_EQ(s.errors.size(), 1u);
    EXPECT_EQ(s.errors[0].file, tmp_.Path("a.yaml"));
    EXPECT_EQ(s.errors[0].message, error);
  }
  EXPECT_EQ(dir_.decoded_files(), 3u);  // the bad content was decoded once

  // The fix is taken.
  tmp_.Write("a.yaml", Service("a", "10.96.0.1", 81) + "---\n" + Service("c", "10.96.0.3", 7000));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_TRUE(s.changed);
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a", "c", "b"}));
  EXPECT_EQ(s.snapshot.services.at(0).ports.at(0).port, 81);
}

TEST_F(ManifestDirectoryTest, RevertToLastGoodContentNeedsNoDecode) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  dir_.Reload();
  tmp_.Write("a.yaml", "kind: [");
  EXPECT_EQ(dir_.Reload().errors.size(), 1u);
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_FALSE(s.changed);
  EXPECT_EQ(dir_.decoded_files(), 2u);
}

TEST_F(ManifestDirectoryTest, NewBadFileContributesNothing) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1") + "---\n" + Service("Bad", "10.96.0.2"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(s.snapshot, model::ResourceSnapshot{});
  EXPECT_EQ(Messages(s), (Names{tmp_.Path("a.yaml") +
                                ": document 2: Service default/Bad: metadata.name: \"Bad\" is not "
                                "a valid DNS-1035 label (at most 63 lowercase letters, digits and "
                                "'-', starting with a letter and ending with a letter or digit)"}));
}

TEST_F(ManifestDirectoryTest, DeletedFileObjectsLeave) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("b", "10.96.0.2"));
  dir_.Reload();
  tmp_.Remove("a.yaml");
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_TRUE(s.changed);
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"b"}));
  EXPECT_EQ(Messages(s), Names{});
}

TEST_F(ManifestDirectoryTest, DeletingARejectedFileClearsItsError) {
  tmp_.Write("a.yaml", "kind: [");
  EXPECT_EQ(dir_.Reload().errors.size(), 1u);
  tmp_.Remove("a.yaml");
  EXPECT_EQ(Messages(dir_.Reload()), Names{});
}

TEST_F(ManifestDirectoryTest, DuplicateServiceInALaterFileIsRejected) {
  tmp_.Write("a.yaml", Service("web", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("web", "10.96.0.2"));
  ManifestDirectoryState s = dir_.Reload();
  ASSERT_EQ(s.snapshot.services.size(), 1u);
  EXPECT_EQ(s.snapshot.services[0].cluster_ip, model::Ipv4Address::Parse("10.96.0.1"));
  EXPECT_EQ(Messages(s),
            (Names{tmp_.Path("b.yaml") + ": document 1: Service default/web: already defined in " +
                   tmp_.Path("a.yaml") + " (document 1)"}));
  EXPECT_EQ(s.errors.at(0).file, tmp_.Path("b.yaml"));
}

TEST_F(ManifestDirectoryTest, IncumbentWinsEvenWhenItSortsLater) {
  tmp_.Write("b.yaml", Service("web", "10.96.0.2"));
  dir_.Reload();
  tmp_.Write("a.yaml", Service("web", "10.96.0.1"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_FALSE(s.changed);
  ASSERT_EQ(s.snapshot.services.size(), 1u);
  EXPECT_EQ(s.snapshot.services[0].meta.source.file, tmp_.Path("b.yaml"));
  EXPECT_EQ(Messages(s),
            (Names{tmp_.Path("a.yaml") + ": document 1: Service default/web: already defined in " +
                   tmp_.Path("b.yaml") + " (document 1)"}));
  // Reported again while it persists.
  EXPECT_EQ(dir_.Reload().errors.size(), 1u);
}

TEST_F(ManifestDirectoryTest, DuplicateFrontendIsRejectedInBothOrders) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.10"));
  dir_.Reload();
  tmp_.Write("b.yaml", Service("b", "10.96.0.10"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a"}));
  EXPECT_EQ(Messages(s), (Names{tmp_.Path("b.yaml") +
                                ": document 1: Service default/b: spec.ports[0]: 10.96.0.10:80/TCP "
                                "is already used by Service default/a (" +
                                tmp_.Path("a.yaml") + ")"}));

  TempDir other;
  other.Write("b.yaml", Service("b", "10.96.0.10"));
  ManifestDirectory dir(other.path());
  dir.Reload();
  other.Write("a.yaml", Service("a", "10.96.0.10"));
  s = dir.Reload();
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"b"}));
  EXPECT_EQ(Messages(s), (Names{other.Path("a.yaml") +
                                ": document 1: Service default/a: spec.ports[0]: 10.96.0.10:80/TCP "
                                "is already used by Service default/b (" +
                                other.Path("b.yaml") + ")"}));
}

TEST_F(ManifestDirectoryTest, SameVipOnOtherPortOrHeadlessIsNoConflict) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.10", 80));
  tmp_.Write("b.yaml", Service("b", "10.96.0.10", 443));
  tmp_.Write("c.yaml",
             "apiVersion: v1\nkind: Service\nmetadata: {name: c}\nspec: {clusterIP: None}\n"
             "---\napiVersion: v1\nkind: Service\nmetadata: {name: d}\n"
             "spec: {clusterIP: None}\n");
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a", "b", "c", "d"}));
}

TEST_F(ManifestDirectoryTest, DuplicateEndpointSliceIsRejected) {
  tmp_.Write("a.yaml", Slice("web-1"));
  tmp_.Write("b.yaml", Slice("web-2") + "---\n" + Slice("web-1"));
  ManifestDirectoryState s = dir_.Reload();
  ASSERT_EQ(s.snapshot.endpoint_slices.size(), 2u);
  EXPECT_EQ(s.snapshot.endpoint_slices[0].meta.key.name, "web-1");
  EXPECT_EQ(s.snapshot.endpoint_slices[0].meta.source.file, tmp_.Path("a.yaml"));
  EXPECT_EQ(s.snapshot.endpoint_slices[1].meta.key.name, "web-2");
  EXPECT_EQ(Messages(s), (Names{tmp_.Path("b.yaml") +
                                ": document 2: EndpointSlice default/web-1: already defined in " +
                                tmp_.Path("a.yaml") + " (document 1)"}));
}

TEST_F(ManifestDirectoryTest, ConflictInsideOneFileIsRejected) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.10") + "---\n" + Service("b", "10.96.0.10"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a"}));
  EXPECT_EQ(Messages(s), (Names{tmp_.Path("a.yaml") +
                                ": document 2: Service default/b: spec.ports[0]: 10.96.0.10:80/TCP "
                                "is already used by Service default/a (" +
                                tmp_.Path("a.yaml") + ")"}));
}

// Issue 13.3: a duplicate in a file that sorts first rejected the whole of
// services.yaml after a restart. Only the duplicate is rejected, and the
// winner is the same before and after the restart.
TEST(ManifestDirectoryOwnersTest, RestartKeepsTheWinnerOfAConflict) {
  TempDir tmp, state;
  const std::string owners = state.Path("owners.json");
  tmp.Write("services.yaml", Service("web", "10.96.0.1") + "---\n" + Service("api", "10.96.0.2") +
                                 "---\n" + Service("db", "10.96.0.3"));
  ManifestDirectory before(tmp.path(), owners);
  before.Reload();
  tmp.Write("a-dup.yaml", Service("web", "10.96.0.9") + "---\n" + Service("extra", "10.96.0.8"));
  ManifestDirectoryState s = before.Reload();
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"extra", "web", "api", "db"}));
  const Names errors = Messages(s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], tmp.Path("a-dup.yaml") +
                           ": document 1: Service default/web: already defined in " +
                           tmp.Path("services.yaml") + " (document 1)");

  ManifestDirectory after(tmp.path(), owners);  // the restart
  ManifestDirectoryState r = after.Reload();
  EXPECT_EQ(r.snapshot, s.snapshot);
  EXPECT_EQ(Messages(r), errors);

  // Without the owners file a restart resolves in file order: the
  // behaviour the owners file exists to prevent.
  ManifestDirectory forgetful(tmp.path());
  EXPECT_NE(forgetful.Reload().snapshot, s.snapshot);
}

TEST(ManifestDirectoryOwnersTest, UnreadableOwnersFileIsReportedThenRewritten) {
  TempDir tmp, state;
  state.Write("owners.json", "{not json");
  tmp.Write("a.yaml", Service("web", "10.96.0.1"));
  ManifestDirectory dir(tmp.path(), state.Path("owners.json"));
  ManifestDirectoryState s = dir.Reload();
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"web"}));
  EXPECT_EQ(Messages(s), (Names{state.Path("owners.json") +
                                ": not a manifest owners file; ignored (conflicts are resolved in "
                                "file order until it is rewritten)"}));
  EXPECT_EQ(Messages(dir.Reload()), Names{});
  ManifestDirectory again(tmp.path(), state.Path("owners.json"));
  EXPECT_EQ(Messages(again.Reload()), Names{});
}

// An edit that makes a served object conflict keeps its previous version
// (a bad edit never takes down what is served); the rest of the edit lands.
TEST_F(ManifestDirectoryTest, ConflictingEditKeepsThePreviousVersion) {
  tmp_.Write("a.yaml", Service("web", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("other", "10.96.0.2"));
  dir_.Reload();
  tmp_.Write("a.yaml", Service("web", "10.96.0.2") + "---\n" + Service("new", "10.96.0.3"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"web", "new", "other"}));
  EXPECT_EQ(s.snapshot.services.at(0).cluster_ip, model::Ipv4Address::Parse("10.96.0.1"));
  EXPECT_EQ(Messages(s),
            (Names{tmp_.Path("a.yaml") +
                   ": document 1: Service default/web: spec.ports[0]: 10.96.0.2:80/TCP "
                   "is already used by Service default/other (" +
                   tmp_.Path("b.yaml") + "); its previous version is still served"}));
}

// A file served whole is served from its decoded version, without a copy;
// every step of a conflict and its end must still serve the right version
// of each object, and say "changed" exactly when the snapshot changed.
TEST_F(ManifestDirectoryTest, ServedObjectsFollowEveryStepOfAConflict) {
  auto ips = [](const ManifestDirectoryState& st) {
    std::vector<std::string> out;
    for (const auto& svc : st.snapshot.services) {
      out.push_back(svc.meta.key.name + "=" + svc.cluster_ip->ToString());
    }
    return out;
  };
  tmp_.Write("a.yaml", Service("web", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("other", "10.96.0.2"));
  ManifestDirectoryState st = dir_.Reload();
  EXPECT_EQ(ips(st), (Names{"web=10.96.0.1", "other=10.96.0.2"}));
  EXPECT_TRUE(st.changed);
  // web's new version conflicts: its previous version stays, new is added.
  tmp_.Write("a.yaml", Service("web", "10.96.0.2") + "---\n" + Service("new", "10.96.0.3"));
  st = dir_.Reload();
  EXPECT_EQ(ips(st), (Names{"web=10.96.0.1", "new=10.96.0.3", "other=10.96.0.2"}));
  EXPECT_TRUE(st.changed);
  EXPECT_EQ(st.errors.size(), 1u);
  st = dir_.Reload();  // nothing changed, the conflict stands
  EXPECT_EQ(ips(st), (Names{"web=10.96.0.1", "new=10.96.0.3", "other=10.96.0.2"}));
  EXPECT_FALSE(st.changed);
  EXPECT_EQ(st.errors.size(), 1u);
  // other moves away: web's new version is served.
  tmp_.Write("b.yaml", Service("other", "10.96.0.9"));
  st = dir_.Reload();
  EXPECT_EQ(ips(st), (Names{"web=10.96.0.2", "new=10.96.0.3", "other=10.96.0.9"}));
  EXPECT_TRUE(st.changed);
  EXPECT_TRUE(st.errors.empty()) << Messages(st).at(0);
  st = dir_.Reload();
  EXPECT_EQ(ips(st), (Names{"web=10.96.0.2", "new=10.96.0.3", "other=10.96.0.9"}));
  EXPECT_FALSE(st.changed);
  // A bad edit of a file served whole keeps it served; fixed, it follows.
  tmp_.Write("a.yaml", "kind: [");
  st = dir_.Reload();
  EXPECT_EQ(ips(st), (Names{"web=10.96.0.2", "new=10.96.0.3", "other=10.96.0.9"}));
  EXPECT_FALSE(st.changed);
  EXPECT_EQ(st.errors.size(), 1u);
  tmp_.Write("a.yaml", Service("web", "10.96.0.2"));
  st = dir_.Reload();
  EXPECT_EQ(ips(st), (Names{"web=10.96.0.2", "other=10.96.0.9"}));
  EXPECT_TRUE(st.changed);
  // Deleted: its objects leave.
  fs::remove(tmp_.Path("a.yaml"));
  st = dir_.Reload();
  EXPECT_EQ(ips(st), (Names{"other=10.96.0.9"}));
  EXPECT_TRUE(st.changed);
}

// Issue 13.1: a file whose bytes are not UTF-8, or whose name is not, gives
// errors that are UTF-8 and name the field; the other objects are served.
TEST_F(ManifestDirectoryTest, BytesThatAreNotUtf8AreErrorsNamingTheField) {
  tmp_.Write("bad.yaml", "a: \"\\\xe3\"\n");
  tmp_.Write("web.yaml", Service("web", "10.96.0.1"));
  tmp_.Write("x.yaml",
             "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  annotations: "
             "{service.meridian.io/x: \"\xe9\"}\nspec: {clusterIP: 10.96.0.5, ports: [{port: "
             "80}]}\n");
  tmp_.Write("\xff.yaml", Service("y", "10.96.0.7", 70000));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"web"}));
  const Names m = Messages(s);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[2], tmp_.path() +
                      "/\\xff.yaml: document 1: Service default/y: spec.ports[0].port: "
                      "70000 is out of range 1-65535");
  EXPECT_EQ(m[0], tmp_.Path("bad.yaml") +
                      ": document 1: invalid YAML at line 1, column 7: unknown escape character: "
                      "\\xe3");
  EXPECT_EQ(m[1], tmp_.Path("x.yaml") +
                      ": document 1: Service default/x: "
                      "metadata.annotations[\"service.meridian.io/x\"]: not valid UTF-8 (byte "
                      "0xe9 at offset 0): \"\\xe9\"");
  for (const auto& text : m) EXPECT_TRUE(IsValidUtf8(text)) << text;
}

}  // namespace
}  // namespace meridian::sources
