#include "kube/reflector.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

namespace meridian::kube {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string PercentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// "&labelSelector=...&fieldSelector=..." for the type's selectors.
std::string SelectorQuery(const ResourceType& t) {
  std::string q;
  if (!t.label_selector.empty()) q += "&labelSelector=" + PercentEncode(t.label_selector);
  if (!t.field_selector.empty()) q += "&fieldSelector=" + PercentEncode(t.field_selector);
  return q;
}

std::string StringAt(const json& j, const char* a, const char* b) {
  if (!j.is_object() || !j.contains(a) || !j[a].is_object()) return "";
  const json& inner = j[a];
  if (!inner.contains(b) || !inner[b].is_string()) return "";
  return inner[b].get<std::string>();
}

asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

Reflector::Reflector(std::shared_ptr<KubeClient> client, ResourceType type,
                     ReflectorOptions options, Callback callback)
    : client_(std::move(client)),
      type_(std::move(type)),
      options_(options),
      callback_(std::move(callback)) {}

void Reflector::Start(asio::io_context& io) {
  // The coroutine holds the reflector: it outlives whoever started it.
  asio::co_spawn(
      io, [self = shared_from_this()]() { return self->Run(); }, asio::detached);
}

std::string Reflector::KeyOf(const json& object) {
  return StringAt(object, "metadata", "namespace") + "/" + StringAt(object, "metadata", "name");
}

asio::awaitable<void> Reflector::Run() {
  for (;;) {
    if (!co_await List()) {
      co_await Sleep(NextBackoff());
      continue;
    }
    for (;;) {
      const WatchEnd end = co_await Watch();
      if (end == WatchEnd::kRelist) break;
      // The server ended the watch (its timeout): resume at once. A
      // failure backs off, then resumes from the same resourceVersion.
      if (end == WatchEnd::kFailed) co_await Sleep(NextBackoff());
    }
  }
}

std::chrono::milliseconds Reflector::NextBackoff() {
  // client-go's wait.Backoff: doubling from 800 ms to 30 s, with up to 100%
  // jitter so that every agent of a cluster does not retry in step.
  backoff_ = backoff_.count() == 0 ? options_.backoff_initial
                                   : std::min(backoff_ * 2, options_.backoff_max);
  std::uniform_real_distribution<double> jitter(1.0, 2.0);
  auto wait = std::chrono::milliseconds(static_cast<long>(backoff_.count() * jitter(random_)));
  wait = std::max(wait, retry_after_);
  retry_after_ = std::chrono::milliseconds(0);
  return wait;
}

void Reflector::NoteRetryAfter(const HttpResponse& r) {
  constexpr auto kMaxRetryAfter = std::chrono::minutes(5);
  if ((r.status != 429 && r.status != 503) || r.retry_after.empty()) return;
  // The delay-seconds form only; an HTTP-date is left to the backoff.
  if (r.retry_after.find_first_not_of("0123456789") != std::string::npos ||
      r.retry_after.size() > 6) {
    return;
  }
  retry_after_ = std::min<std::chrono::milliseconds>(std::chrono::seconds(std::stol(r.retry_after)),
                                                     kMaxRetryAfter);
}

void Reflector::Fail(std::string error) {
  ++counters_.failures;
  if (error != last_error_) {
    spdlog::warn("kubernetes {}: {}", type_.plural, error);
  }
  last_error_ = std::move(error);
  callback_(ReflectorEvent{.type = ReflectorEvent::Type::kError, .error = last_error_});
}

asio::awaitable<bool> Reflector::List() {
  std::map<std::string, json> listed;
  std::string cont;
  std::string version;
  bool restart = false;
  do {
    restart = false;
    std::string target = fmt::format("{}?limit={}{}", type_.CollectionPath(), options_.page_size,
                                     SelectorQuery(type_));
    if (!cont.empty()) target += "&continue=" + PercentEncode(cont);
    auto res = co_await client_->Get(target, options_.request_timeout);
    if (!res) {
      Fail("list: " + res.error().message);
      co_return false;
    }
    if (res->status == 410 && !cont.empty()) {
      // The continue token expired mid-list: start the list again.
      ++counters_.relists_gone;
      listed.clear();
      cont.clear();
      version.clear();
      restart = true;
      continue;
    }
    if (res->status != 200) {
      NoteRetryAfter(*res);
      Fail("list: " + StatusText(*res));
      co_return false;
    }
    auto page = json::parse(res->body, nullptr, false);
    if (!page.is_object() || !page.contains("items") ||
        !(page["items"].is_array() || page["items"].is_null())) {
      ++counters_.malformed;
      Fail(fmt::format("list: the response is not a {}List", type_.kind));
      co_return false;
    }
    ++counters_.list_pages;
    if (page["items"].is_array()) {
      for (auto& item : page["items"]) {
        if (!item.is_object()) continue;
        // List items carry no kind; the decoder needs it.
        item["kind"] = type_.kind;
        item["apiVersion"] = type_.api_version;
        // json's operator= takes its argument by value, and C++17 evaluates
        // the right side first: the key must be taken before the move.
        std::string key = KeyOf(item);
        listed[std::move(key)] = std::move(item);
      }
    }
    if (cont.empty() || version.empty()) version = StringAt(page, "metadata", "resourceVersion");
    cont = StringAt(page, "metadata", "continue");
  } while (restart || !cont.empty());

  // Replace by difference: report what changed, nothing that stayed.
  for (auto it = objects_.begin(); it != objects_.end();) {
    if (!listed.count(it->first)) {
      const std::string key = it->first;
      it = objects_.erase(it);
      callback_(ReflectorEvent{.type = ReflectorEvent::Type::kDelete, .key = key});
    } else {
      ++it;
    }
  }
  for (auto& [key, obj] : listed) {
    auto it = objects_.find(key);
    if (it != objects_.end() && it->second == obj) continue;
    Upsert(std::move(obj));
  }
  resource_version_ = version;
  ++counters_.lists;
  synced_ = true;
  backoff_ = std::chrono::milliseconds(0);
  last_error_.clear();
  callback_(ReflectorEvent{.type = ReflectorEvent::Type::kSynced});
  co_return true;
}

void Reflector::Upsert(json object) {
  const std::string key = KeyOf(object);
  auto& slot = objects_[key];
  slot = std::move(object);
  callback_(ReflectorEvent{.type = ReflectorEvent::Type::kUpsert, .key = key, .object = &slot});
}

void Reflector::Delete(const std::string& key) {
  if (!objects_.erase(key)) return;
  callback_(ReflectorEvent{.type = ReflectorEvent::Type::kDelete, .key = key});
}

asio::awaitable<Reflector::WatchEnd> Reflector::Watch() {
  std::uniform_int_distribution<long> spread(options_.min_watch_timeout.count(),
                                             2 * options_.min_watch_timeout.count() - 1);
  const std::string target =
      fmt::format("{}?watch=1&allowWatchBookmarks=true&resourceVersion={}&timeoutSeconds={}{}",
                  type_.CollectionPath(), PercentEncode(resource_version_), spread(random_),
                  SelectorQuery(type_));
  ++counters_.watches;
  WatchEnd end = WatchEnd::kResume;
  auto res = co_await client_->Stream(
      target, [this, &end](std::string_view line) { return OnWatchLine(line, end); },
      options_.idle_timeout, options_.request_timeout);
  if (!res) {
    Fail("watch: " + res.error().message);
    co_return WatchEnd::kFailed;
  }
  if (res->status == 410) {
    ++counters_.relists_gone;
    spdlog::info("kubernetes {}: resourceVersion {} is gone (410): listing again", type_.plural,
                 resource_version_);
    co_return WatchEnd::kRelist;
  }
  if (res->status != 200) {
    NoteRetryAfter(*res);
    Fail("watch: " + StatusText(*res));
    co_return WatchEnd::kFailed;
  }
  if (!res->broken.empty() && end == WatchEnd::kResume) {
    // Connections break (a load balancer's idle timeout, a server
    // restart): resume from the last version, after a backoff in case the
    // server is going down. Not an error unless the new watch fails.
    ++counters_.failures;
    spdlog::debug("kubernetes {}: watch stream broke ({}); resuming from {}", type_.plural,
                  res->broken, resource_version_);
    co_return WatchEnd::kFailed;
  }
  if (end == WatchEnd::kResume) backoff_ = std::chrono::milliseconds(0);
  co_return end;
}

bool Reflector::OnWatchLine(std::string_view line, WatchEnd& end) {
  auto event = json::parse(line, nullptr, false);
  const bool shaped = event.is_object() && event.contains("type") && event["type"].is_string() &&
                      event.contains("object") && event["object"].is_object();
  if (!shaped) {
    // Nothing after a line we cannot read can be trusted to be in order:
    // resume from the last good resourceVersion.
    ++counters_.malformed;
    Fail(fmt::format("watch: not a watch event: {}", std::string(line.substr(0, 120))));
    end = WatchEnd::kFailed;
    return false;
  }
  const std::string type = event["type"].get<std::string>();
  json& object = event["object"];
  if (type == "ERROR") {
    const int code = object.contains("code") && object["code"].is_number_integer()
                         ? object["code"].get<int>()
                         : 0;
    if (code == 410) {
      ++counters_.relists_gone;
      spdlog::info("kubernetes {}: resourceVersion {} is gone (410 in the watch): listing again",
                   type_.plural, resource_version_);
      end = WatchEnd::kRelist;
    } else {
      Fail(fmt::format("watch: ERROR event: {}", object.dump().substr(0, 200)));
      end = WatchEnd::kFailed;
    }
    return false;
  }
  if (!last_error_.empty()) {
    // The watch works again: the error is over.
    last_error_.clear();
    backoff_ = std::chrono::milliseconds(0);
    callback_(ReflectorEvent{.type = ReflectorEvent::Type::kRecovered});
  }
  const std::string version = StringAt(object, "metadata", "resourceVersion");
  if (type == "BOOKMARK") {
    ++counters_.bookmarks;
  } else if (type == "ADDED" || type == "MODIFIED") {
    ++counters_.watch_events;
    if (!object.contains("kind")) object["kind"] = type_.kind;
    if (!object.contains("apiVersion")) object["apiVersion"] = type_.api_version;
    Upsert(std::move(object));
  } else if (type == "DELETED") {
    ++counters_.watch_events;
    Delete(KeyOf(object));
  } else {
    ++counters_.malformed;
    Fail(fmt::format("watch: unknown event type {}", type));
    end = WatchEnd::kFailed;
    return false;
  }
  if (!version.empty()) resource_version_ = version;
  return true;
}

}  // namespace meridian::kube
