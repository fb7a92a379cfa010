/* notify.h - telling a service manager (systemd) how the daemon is doing,
 * through the datagram socket named by $NOTIFY_SOCKET. */
#ifndef MUXD_APP_NOTIFY_H
#define MUXD_APP_NOTIFY_H

/* Sends state ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...",
 * newline separated) if $NOTIFY_SOCKET is set; nothing otherwise. 0, or
 * -errno (the caller logs it: a manager that cannot be told is worth a
 * line, never a reason to stop serving). */
int mx_app_notify(const char *state);

#endif
