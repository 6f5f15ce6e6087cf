// fp8kit/version.h
#pragma once

#define FP8KIT_VERSION_MAJOR 0
#define FP8KIT_VERSION_MINOR 1
#define FP8KIT_VERSION_PATCH 0
#define FP8KIT_VERSION_STRING "0.1.0"
