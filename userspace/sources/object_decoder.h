// Decodes one object already parsed from JSON, as a Kubernetes LIST or
// WATCH delivers it, through the same decoders as a manifest file: the same
// object gives the same model whichever source read it.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "sources/manifest_decoder.h"

namespace meridian::sources {

// `object` must carry kind and apiVersion (a reflector adds them to list
// items). `source` names the object in errors and in its SourceRef, e.g.
// "kubernetes Service demo/web". Never throws.
DecodeResult DecodeObjectJson(const nlohmann::json& object, const std::string& source);

}  // namespace meridian::sources
