#include "kube/kube_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace meridian::kube {
namespace {

namespace fs = std::filesystem;

class KubeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "meridian-kubeconfig-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  fs::path dir_;
};

constexpr const char* kConfig = R"(apiVersion: v1
kind: Config
current-context: east
clusters:
- name: c-east
  cluster:
    server: https://10.0.0.1:6443/prefix/
    certificate-authority: ca.crt
- name: c-west
  cluster:
    server: https://api.west.example:443
    certificate-authority-data: Q0EtV0VTVA==
contexts:
- name: east
  context: {cluster: c-east, user: u-east}
- name: west
  context: {cluster: c-west, user: u-west}
users:
- name: u-east
  user: {token: tok-east}
- name: u-west
  user: {tokenFile: token}
)";

TEST_F(KubeConfigTest, CurrentContextGivesServerCaAndToken) {
  Write("ca.crt", "CA-EAST");
  auto c = LoadKubeConfigFile(Write("config", kConfig));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->host, "10.0.0.1");
  EXPECT_EQ(c->port, "6443");
  EXPECT_EQ(c->base_path, "/prefix");
  EXPECT_EQ(c->ca_pem, "CA-EAST");  // relative to the kubeconfig's directory
  EXPECT_EQ(c->token, "tok-east");
  EXPECT_EQ(c->ServerUrl(), "https://10.0.0.1:6443/prefix");
  EXPECT_NE(c->origin.find("(context east)"), std::string::npos);
}

TEST_F(KubeConfigTest, NamedContextWithInlineCaAndTokenFile) {
  auto c = LoadKubeConfigFile(Write("config", kConfig), "west");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->host, "api.west.example");
  EXPECT_EQ(c->port, "443");
  EXPECT_EQ(c->ca_pem, "CA-WEST");
  EXPECT_EQ(c->token_file, (dir_ / "token").string());
}

TEST_F(KubeConfigTest, ErrorsNameWhatIsWrong) {
  EXPECT_EQ(LoadKubeConfigFile((dir_ / "missing").string()).error().message,
            "kubeconfig " + (dir_ / "missing").string() + ": cannot be read");
  auto no_ctx = LoadKubeConfigFile(Write("a", "apiVersion: v1\nkind: Config\n"));
  EXPECT_NE(no_ctx.error().message.find("no current-context"), std::string::npos);
  auto http = LoadKubeConfigFile(
      Write("b",
            "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
            "clusters: [{name: c, cluster: {server: 'http://1.2.3.4:8080'}}]\n"));
  EXPECT_NE(http.error().message.find("only https:// is supported"), std::string::npos)
      << http.error().message;
  auto exec = LoadKubeConfigFile(
      Write("c",
            "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
            "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
            "users: [{name: u, user: {exec: {command: aws}}}]\n"));
  EXPECT_NE(exec.error().message.find("exec and auth-provider credentials are not supported"),
            std::string::npos);
  auto bad_b64 = LoadKubeConfigFile(
      Write("d",
            "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
            "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: "
            "'%%%'}}]\n"));
  EXPECT_NE(bad_b64.error().message.find("not valid base64"), std::string::npos);
}

TEST_F(KubeConfigTest, InClusterReadsTheServiceAccount) {
  Write("ca.crt", "CA-SA");
  Write("token", "sa-token\n");
  auto c = LoadInClusterConfig(
      {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
      dir_.string());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->host, "10.96.0.1");
  EXPECT_EQ(c->ca_pem, "CA-SA");
  EXPECT_EQ(c->token_file, (dir_ / "token").string());
  EXPECT_EQ(c->origin, "in-cluster");
  EXPECT_FALSE(LoadInClusterConfig({}, dir_.string()).ok());
}

TEST_F(KubeConfigTest, ResolutionOrderIsClientGos) {
  Write("ca.crt", "CA");
  const std::string explicit_path = Write("explicit", kConfig);
  const std::string env_path =
      Write("env", std::string(kConfig).replace(std::string(kConfig).find("current-context: east"),
                                                21, "current-context: west"));
  // --kubeconfig beats everything.
  auto a = ResolveKubeConfig(explicit_path, {{"KUBECONFIG", env_path}});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "10.0.0.1");
  // Then $KUBECONFIG: its files merged, the first current-context wins.
  auto b = ResolveKubeConfig("", {{"KUBECONFIG", env_path + ":" + explicit_path},
                                  {"KUBERNETES_SERVICE_HOST", "10.96.0.1"}});
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->host, "api.west.example");
  // Then in-cluster (here it fails for want of the service account).
  auto c = ResolveKubeConfig(
      "", {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  EXPECT_NE(c.error().message.find("in-cluster"), std::string::npos);
  // Then ~/.kube/config.
  fs::create_directories(dir_ / "home/.kube");
  fs::copy_file(explicit_path, dir_ / "home/.kube/config");
  Write("home/.kube/ca.crt", "CA");
  auto d = ResolveKubeConfig("", {{"HOME", (dir_ / "home").string()}});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->host, "10.0.0.1");
  EXPECT_NE(ResolveKubeConfig("", {}).error().message.find("no Kubernetes configuration"),
            std::string::npos);
}

// A KUBECONFIG list as kubectl merges it: the current-context of the first
// file that sets one, each named entry from the first file defining it
// (its relative paths resolved against that file), missing files skipped.
TEST_F(KubeConfigTest, KubeconfigListIsMergedLikeClientGo) {
  fs::create_directories(dir_ / "a");
  fs::create_directories(dir_ / "b");
  const std::string a = Write("a/config", R"(apiVersion: v1
kind: Config
contexts:
- name: dev
  context: {cluster: dev, user: dev}
users:
- name: dev
  user: {tokenFile: token}
)");
  Write("a/token", "tok-a");
  const std::string b = Write("b/config", R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster: {server: "https://10.9.0.1:6443", certificate-authority: ca.crt}
contexts:
- name: dev
  context: {cluster: other, user: other}
users:
- name: dev
  user: {token: tok-b}
)");
  Write("b/ca.crt", "CA-B");
  auto c =
      ResolveKubeConfig("", {{"KUBECONFIG", (dir_ / "missing").string() + ":" + a + "::" + b}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->host, "10.9.0.1") << "the cluster only b defines";
  EXPECT_EQ(c->ca_pem, "CA-B") << "relative to b, which defines the cluster";
  EXPECT_EQ(c->token_file, (dir_ / "a/token").string()) << "user dev from a, the first";
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->origin, "kubeconfig " + a + ":" + b + " (context dev)");
  EXPECT_NE(ResolveKubeConfig("", {{"KUBECONFIG", (dir_ / "missing").string()}})
                .error()
                .message.find("none of its files exists"),
            std::string::npos);
}

}  // namespace
}  // namespace meridian::kube
