/* muxd/muxd.h - everything a server built on muxd includes. */
#ifndef MUXD_H
#define MUXD_H

#define MUXD_VERSION "0.1.0"

#include "muxd/chunk.h"
#include "muxd/clock.h"
#include "muxd/conn.h"
#include "muxd/http.h"
#include "muxd/log.h"
#include "muxd/offload.h"
#include "muxd/proto.h"
#include "muxd/server.h"
#include "muxd/stats.h"
#include "muxd/tls.h"

#endif
