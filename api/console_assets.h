// The web console's files (console/: HTML, CSS, JavaScript), compiled into
// the binary by cmake/embed_console.cmake: the console works offline, on
// an air-gapped node, with nothing fetched from anywhere but the node.
#pragma once

#include <string_view>

namespace basefs {

struct ConsoleAsset {
  std::string_view path;  // "/ui/console.js"
  std::string_view content_type;
  std::string_view body;
};

// The file served at `path` ("/ui/" and "/ui" are index.html); null if none.
const ConsoleAsset* FindConsoleAsset(std::string_view path);

}  // namespace basefs
