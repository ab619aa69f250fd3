#include "frontends/cli/option_table.h"
#include "frontends/cli/options.h"

namespace pvb {

static const char* kOverview =
    R"(pvebridge - open the console of a Proxmox VE guest through the API port

Usage:
  pvebridge connect GUEST... [options]   open a VNC (or SPICE) console (GUEST: vmid, name, or
                                         node/vmid)
  pvebridge serve GUEST[=PORT]... [opts] persistent local VNC endpoints for any VNC client
                                         (help serve)
  pvebridge list [PATTERN...] [options]  list the guests this user can see (filters: help list)
  pvebridge term GUEST [options]         a container's console or a VM's serial console, here in
                                         this terminal (help term)
  pvebridge shell [NODE] [options]       the node's shell (default: the node that answers)
  pvebridge help [connect|serve|list|term|config]   show help (config: the config file and its profiles)
  pvebridge --version

Connection and authentication (every command):
)";

static const char* kOverviewEnd = R"(
Exit codes:
  0 success                  2 usage or configuration (also: no DISPLAY for a viewer)
  3 authentication (incl. two-factor)                   4 TLS verification
  5 guest not found, ambiguous, or a template           6 guest not running or failed to start
  7 network (DNS, connect, timeout, lost)               8 console refused by the server
  9 viewer failed or missing                            10 no local client in time
  11 no SPICE display (--protocol spice)                 12 SPICE proxy (3128) unreachable
  129/130/143 interrupted (SIGHUP/SIGINT/SIGTERM)
)";

static const char* kConnect = R"(pvebridge connect GUEST... [options]

Opens the VNC console of each GUEST (vmid "100", name "web01", or "pve1/100") through the
Proxmox API port. pvebridge starts remote-viewer on a private .vv file and, at the same time,
gets a VNC ticket (vncproxy), opens the console's WebSocket to pveproxy and answers the node's
VNC authentication itself; the viewer authenticates to pvebridge's listener on 127.0.0.1 with a
local one-time password (the .vv carries only that). So the node's 30-second password never
races the viewer's start-up, and a viewer that reconnects (or a .vv opened again while the
viewer runs) is served again with a fresh ticket. --passthrough restores the old byte pipe.

Options (plus the connection options of 'pvebridge --help'):
)";

static const char* kConnectEnd = R"(
The bridge ends when the viewer exits (exit 0, or 9 if the viewer failed); if the server side
ends first, the viewer is closed after 2 seconds.

SPICE (--protocol spice, or auto for a VM whose display is qxl or virtio): remote-viewer gets the
.vv spiceproxy returns (its password lives 30 s: the viewer starts at once), with proxy= set to
the host the API answered on, port 3128 (or --spice-proxy). SPICE needs the node's port 3128:
pvebridge tests it first and says so when it is closed (exit 12; --protocol vnc needs only 8006).
With --spice-relay (automatic with an HTTP proxy and with --no-viewer) the viewer's CONNECTs go
through pvebridge on loopback, which lets only this console's target through; the channels stay
TLS end to end between remote-viewer and the guest.

--json events (one object per line, each with "event" and "session"):
  starting {action: start|resume, guest} (--start), warning {code, message} (guest_paused),
  listening {address, port, vv_file, guest{node, vmid, type, name}, local_auth},
  client_connected {client}, client_closed {client, bytes_to_guest, bytes_from_guest, code and
  message when it failed}, local_auth_failed {client, peer}, viewer_exited {code, output: its last stderr lines when it failed},
  reconnecting {attempt, reason, code}, reconnected {attempts, downtime_ms}, closed {reason,
  bytes_to_guest, bytes_from_guest, reconnects, copied_bytes, tls_copied_bytes; message when the
  server ended the console}, error {code, message}.
  copied_bytes and tls_copied_bytes count the bytes the process copied in its own code and into
  or out of the TLS library (for benchmarks). Every event carries "protocol": "vnc" or "spice".
)";

static const char* kServe = R"(pvebridge serve GUEST[=PORT]... [options]

Runs a persistent VNC endpoint on 127.0.0.1 for each GUEST, until SIGINT or SIGTERM (exit 130 or
143). PORT defaults to the first free port from 5900 up. Every client that connects gets its own
fresh console (a new ticket): any VNC client works (remote-viewer, TigerVNC's vncviewer, Remmina,
vncsnapshot), several at once. Clients of other users are refused. Each endpoint authenticates
clients with its own local password (8 random characters), written with the address into a
private .vv file whose path is printed (remote-viewer FILE uses it); --show-password prints it
too, --local-auth none drops it (a trusted single-user machine only).

Options (plus the connection options of 'pvebridge --help'):
)";

static const char* kServeEnd = R"(
--json events (one object per line, each with "event" and "session"): listening {address, port,
url, vv_file, guest, local_auth, password (with --show-password)}, client_connected {client},
client_closed {client, bytes_to_guest, bytes_from_guest, code and message when it failed},
local_auth_failed {client, peer}, client_refused {message}, reconnecting {client, attempt, reason,
code}, reconnected {client, attempts, downtime_ms}, closed {reason}, error {code, message}.
)";

static const char* kList = R"(pvebridge list [PATTERN...] [options]

Lists the guests the user may see: node, vmid, type, name, status, tags. Templates are listed,
with the status "template". Every filter given must match:
  PATTERN                 a name glob ('web*', 'db0?', '[a-c]*'; quote it from the shell), also
                          tried on the vmid; several patterns: any one may match
)";

static const char* kListEnd =
    R"(--json prints one JSON array (with lock and template) instead of the table. When no guest
matches: the table's header only on a terminal, and "no guests match" on stderr (exit 0).
The guest cache of the shell completions always keeps every guest, whatever the filters.
(plus the connection options of 'pvebridge --help')
)";

static const char* kTerm = R"(pvebridge term GUEST [options]
pvebridge shell [NODE] [options]

Opens a text console in this terminal, through the API port (termproxy), as naturally as ssh:
  term GUEST              a container's console (lxc; like pct console), or a VM's serial
                          console (qemu; the VM needs one: qm set VMID -serial0 socket)
  shell [NODE]            the node's shell (needs Sys.Console); without NODE, the node that
                          answers
Options (plus the connection options of 'pvebridge --help'):
)";

static const char* kTermEnd = R"(
On a terminal the session runs in raw mode (restored on every way out) and follows the terminal's
size. Not on a terminal (standard input a pipe or a file), standard input is sent as it is and
the remote output is written to standard output, so scripts can do
  echo 'uname -a; exit' | pvebridge term 200
Exit 0 when the remote side ends the session, after ~., or after the input is done; else the
usual exit codes (8: the terminal was refused: the ticket, or an API token on a server that does
not take tokens on terminals; log in as a user then).
Standard output carries the terminal: pvebridge's own messages, and --json events (connected
{node, vmid, type, serial, interactive}, closed {reason, bytes_in, bytes_out}, error {code,
message}), go to standard error.
)";

static const char* kConfig = R"(pvebridge config file

The settings of every day go in ~/.config/pvebridge/config ($XDG_CONFIG_HOME/pvebridge/config),
or in the file named by --config or PVEBRIDGE_CONFIG. The command line beats the environment,
which beats the file.

  # a comment (only at the start of a line)
  default_profile = home       # used when neither --profile nor PVEBRIDGE_PROFILE names one
  tls_backend = openssl        # settings before any [profile] apply to every profile

  [profile home]
  host = pve1.example.com, pve2.example.com
  user = alice@pve
  password_command = pass show proxmox/alice
  ca_file = ~/.config/pvebridge/pve-root-ca.pem

  [profile lab]
  host = 192.0.2.10
  token_id = root@pam!pvebridge
  token_file = lab.token       # relative paths are next to the config file
  fingerprint = AA:BB:...
  proxy = http://proxy.example.com:3128

Keys: host (comma list; repeatable), user with password_file or password_command, or token_id
with token_file or token_command; fingerprint (repeatable) or ca_file; proxy, tls_backend,
timeout, keepalive, reconnect, client_wait, local_auth (vnc or none), viewer, viewer_args,
fullscreen and kiosk (yes or no), protocol (vnc, spice or auto), spice_proxy (HOST[:PORT]) and
spice_relay (yes or no).
proxy (http://HOST:PORT) is used when neither --proxy nor https_proxy / HTTPS_PROXY names one;
no_proxy / NO_PROXY in the environment still exempts hosts (no_proxy='*': no proxy this time).
Proxy credentials are refused in the file: put them in https_proxy.
A profile's user, password or token replace those of the top level as a whole; so do its
fingerprints or CA, and its hosts.

password_command and token_command run without a shell: words split at blanks, '...' and "..."
quote (use sh -c '...' for a pipe); the first line they print is the secret; they may ask on the
terminal. One that fails exits 3; one that cannot be started exits 2. A token file or command
gives the secret alone or the whole USER@REALM!TOKENID=SECRET.
Inline secrets (password, token_secret) are refused unless no other user may read the file
(chmod 600); a file other users may change is always refused. --insecure is command line only.
The command line beats the environment, which beats the file, group by group: credentials (a
token, or a user with a password source), trust (fingerprints, a CA file, --insecure) and hosts
given at a higher level replace that whole group below it (a user named again keeps the password
source given with it below); two alternatives at one level are an error naming both.
)";

// The option lines come from the option table (option_table.h); the prose around them is here.
std::string help_text(const std::string& topic) {
  if (topic == "connect") return kConnect + options_help(kForConnect) + kConnectEnd;
  if (topic == "serve") return kServe + options_help(kForServe) + kServeEnd;
  if (topic == "list") return kList + options_help(kForList) + kListEnd;
  if (topic == "term" || topic == "shell") return kTerm + options_help(kForTerminal) + kTermEnd;
  if (topic == "config") return kConfig;
  return kOverview + options_help(kForEvery) + kOverviewEnd;
}

}  // namespace pvb
