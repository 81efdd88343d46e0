#include "controller/import_writer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>

#include "controller/import_objects.h"

namespace meridian::controller {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr auto kTimeout = std::chrono::seconds(30);
constexpr char kApplyQuery[] = "?fieldManager=meridian-controller&force=true";

std::string ImportPath(const model::ObjectKey& k) {
  return fmt::format("/apis/multicluster.x-k8s.io/v1alpha1/namespaces/{}/serviceimports/{}", k.ns,
                     k.name);
}
std::string SlicePath(const std::string& ns, const std::string& name) {
  return fmt::format("/apis/discovery.k8s.io/v1/namespaces/{}/endpointslices/{}", ns, name);
}

// One request; the error text, or empty with the reply's JSON in `out`.
// `gone_ok`: a 404 is success (a delete of what is already gone).
asio::awaitable<std::string> Call(kube::KubeClient& client, std::string method, std::string target,
                                  std::string content_type, std::string body, json* out,
                                  bool gone_ok = false) {
  auto res =
      co_await client.Send(method, target, std::move(content_type), std::move(body), kTimeout);
  if (!res) co_return fmt::format("{} {}: {}", method, target, res.error().message);
  if (res->status == 404 && gone_ok) co_return "";
  if (res->status < 200 || res->status >= 300) {
    // The Status object's message says why (a missing namespace, a
    // rejected field), more than the code does.
    co_return fmt::format("{} {}: {}", method, target, kube::StatusText(*res));
  }
  if (out) {
    *out = json::parse(res->body, nullptr, false);
    if (out->is_discarded()) co_return fmt::format("{} {}: the reply is not JSON", method, target);
  }
  co_return "";
}

asio::awaitable<std::string> Apply(kube::KubeClient& client, const std::string& path,
                                   const json& object, json* out) {
  co_return co_await Call(client, "PATCH", path + kApplyQuery, "application/apply-patch+yaml",
                          object.dump(), out);
}

// The import's EndpointSlices by name (import_objects.h).
std::map<std::string, json> SlicesByName(const model::ServiceImport& imp, const std::string& uid) {
  std::map<std::string, json> out;
  for (auto& s : ImportEndpointSlices(imp, uid)) {
    out.emplace(s["metadata"]["name"].get<std::string>(), std::move(s));
  }
  return out;
}

}  // namespace

ImportWriter::ImportWriter(asio::io_context& io, std::shared_ptr<kube::KubeClient> client)
    : io_(io), client_(std::move(client)) {}

void ImportWriter::Fail(State& state, const std::string& what, const std::string& error) {
  ++state.counters.failures;
  if (error != state.counters.last_error) {
    spdlog::warn("{}: {} (retried on the next sync)", what, error);
  }
  state.counters.last_error = error;
}

void ImportWriter::Update(const std::vector<model::ServiceImport>& imports) {
  state_->desired.clear();
  for (const auto& imp : imports) state_->desired.emplace(imp.key, imp);
  if (state_->adopted) {
    Reconcile(io_, client_, state_);
    return;
  }
  if (state_->adopting) return;  // it reconciles when the list is done
  state_->adopting = true;
  // What a previous run wrote: every object with our labels, in every
  // namespace. Found objects are recorded with null content, so desired
  // ones are rewritten once and the others deleted.
  asio::co_spawn(
      io_,
      [&io = io_, client = client_, state = state_]() -> asio::awaitable<void> {
        const std::string selector =
            fmt::format("?labelSelector={}%3D{}", kManagedByLabel, kManagedByValue);
        json imports, slices;
        std::string error = co_await Call(
            *client, "GET", "/apis/multicluster.x-k8s.io/v1alpha1/serviceimports" + selector,
            "application/json", "", &imports);
        if (error.empty()) {
          error =
              co_await Call(*client, "GET", "/apis/discovery.k8s.io/v1/endpointslices" + selector,
                            "application/json", "", &slices);
        }
        state->adopting = false;
        if (!error.empty()) {
          Fail(*state, "ServiceImports: listing what a previous run wrote", error);
          co_return;
        }
        for (const auto& item : imports.value("items", json::array())) {
          const auto& md = item.value("metadata", json::object());
          model::ObjectKey key{md.value("namespace", ""), md.value("name", "")};
          // Never an empty name: a DELETE of ".../serviceimports/" would
          // delete the whole collection.
          if (key.ns.empty() || key.name.empty()) continue;
          state->written[key].uid = md.value("uid", "");
        }
        for (const auto& item : slices.value("items", json::array())) {
          const auto& md = item.value("metadata", json::object());
          const auto labels = md.value("labels", json::object());
          model::ObjectKey key{md.value("namespace", ""),
                               labels.value(kMcsServiceNameLabel, std::string())};
          const std::string name = md.value("name", "");
          if (key.ns.empty() || key.name.empty() || name.empty()) continue;
          state->written[key].slices[name] = json();
        }
        state->adopted = true;
        if (!state->written.empty()) {
          spdlog::info("ServiceImports: found {} imports written before this start",
                       state->written.size());
        }
        Reconcile(io, client, state);
      },
      asio::detached);
}

void ImportWriter::Reconcile(asio::io_context& io, const std::shared_ptr<kube::KubeClient>& client,
                             const std::shared_ptr<State>& state) {
  // Imports that are gone: their slices, then the ServiceImport.
  for (const auto& [key, w] : state->written) {
    if (state->desired.count(key) || state->in_flight.count(key)) continue;
    state->in_flight.insert(key);
    asio::co_spawn(
        io,
        [client, state, key = key]() -> asio::awaitable<void> {
          auto& w = state->written[key];
          std::string error;
          for (auto it = w.slices.begin(); error.empty() && it != w.slices.end();) {
            error = co_await Call(*client, "DELETE", SlicePath(key.ns, it->first),
                                  "application/json", "", nullptr, true);
            if (error.empty()) {
              ++state->counters.deletes;
              it = w.slices.erase(it);
            }
          }
          if (error.empty()) {
            error = co_await Call(*client, "DELETE", ImportPath(key), "application/json", "",
                                  nullptr, true);
          }
          state->in_flight.erase(key);
          if (!error.empty()) {
            Fail(*state, "ServiceImport " + key.ToString(), error);
            co_return;
          }
          ++state->counters.deletes;
          state->written.erase(key);
          spdlog::info("ServiceImport {}: deleted (no cluster exports it)", key.ToString());
        },
        asio::detached);
  }
  for (const auto& [key, imp] : state->desired) {
    if (state->in_flight.count(key)) continue;  // the next Update looks again
    json object = ServiceImportObject(imp);
    json status = ServiceImportStatus(imp);
    auto found = state->written.find(key);
    if (found != state->written.end() && found->second.object == object &&
        found->second.status == status &&
        SlicesByName(imp, found->second.uid) == found->second.slices) {
      continue;
    }
    state->in_flight.insert(key);
    asio::co_spawn(
        io,
        [client, state, imp = imp, object = std::move(object),
         status = std::move(status)]() -> asio::awaitable<void> {
          const auto& key = imp.key;
          auto& w = state->written[key];
          std::string error;
          if (w.object != object || w.uid.empty()) {
            json reply;
            error = co_await Apply(*client, ImportPath(key), object, &reply);
            if (error.empty()) {
              ++state->counters.applies;
              w.object = object;
              w.uid = reply.value("metadata", json::object()).value("uid", "");
              if (w.uid.empty()) error = "PATCH " + ImportPath(key) + ": the reply has no uid";
            }
          }
          if (error.empty() && w.status != status) {
            error = co_await Apply(*client, ImportPath(key) + "/status", status, nullptr);
            if (error.empty()) {
              ++state->counters.applies;
              w.status = status;
            }
          }
          std::map<std::string, json> slices;
          if (error.empty()) slices = SlicesByName(imp, w.uid);
          for (const auto& [name, slice] : slices) {
            if (!error.empty()) break;
            auto it = w.slices.find(name);
            if (it != w.slices.end() && it->second == slice) continue;
            error = co_await Apply(*client, SlicePath(key.ns, name), slice, nullptr);
            if (error.empty()) {
              ++state->counters.applies;
              w.slices[name] = slice;
            }
          }
          // Slices no longer needed (a cluster stopped exporting, ports
          // changed, fewer chunks).
          for (auto it = w.slices.begin(); error.empty() && it != w.slices.end();) {
            if (slices.count(it->first)) {
              ++it;
              continue;
            }
            error = co_await Call(*client, "DELETE", SlicePath(key.ns, it->first),
                                  "application/json", "", nullptr, true);
            if (error.empty()) {
              ++state->counters.deletes;
              it = w.slices.erase(it);
            }
          }
          state->in_flight.erase(key);
          if (!error.empty()) Fail(*state, "ServiceImport " + key.ToString(), error);
        },
        asio::detached);
  }
}

}  // namespace meridian::controller
