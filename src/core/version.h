// The Slingshot version, shown by `slingshot --version` and the web page.
#pragma once

#define SLING_VERSION "0.1.0"
