// Kubernetes name rules (k8s.io/apimachinery/pkg/util/validation), and the
// text that explains each rule in an error. Internal to userspace/sources/.
#pragma once

#include <string_view>

namespace meridian::sources::internal {

// RFC 1123 label: namespaces, port names, Cluster names.
bool IsDns1123Label(std::string_view s);

// RFC 1035 label: Service (and so ServiceExport) names, which become DNS
// names and so must start with a letter.
bool IsDns1035Label(std::string_view s);

// RFC 1123 subdomain: EndpointSlice names (generated ones contain dots only
// rarely, but Kubernetes allows them).
bool IsDns1123Subdomain(std::string_view s);

// IANA_SVC_NAME (RFC 6335): the named form of targetPort.
bool IsIanaSvcName(std::string_view s);

inline constexpr const char* kDns1035Rule =
    "is not a valid DNS-1035 label (at most 63 lowercase letters, digits and '-', starting "
    "with a letter and ending with a letter or digit)";
inline constexpr const char* kDns1123LabelRule =
    "is not a valid DNS label (at most 63 lowercase letters, digits and '-', starting and "
    "ending with a letter or digit)";
inline constexpr const char* kDns1123SubdomainRule =
    "is not a valid DNS subdomain (at most 253 lowercase letters, digits, '-' and '.', each "
    "dot-separated part starting and ending with a letter or digit)";
inline constexpr const char* kIanaSvcNameRule =
    "is not a valid port name (at most 15 lowercase letters, digits and '-', with at least "
    "one letter, no leading, trailing or doubled '-')";

}  // namespace meridian::sources::internal
