"""asyncua behind one wall: every subclass of an asyncua class, every override, copy or
replacement of an asyncua method and every read of an asyncua private member in the project
is in this package (tests/boundary/test_asyncua_wall.py fails on one outside it). The
classes here do the asyncua-facing mechanics and call plain project functions for the rules
(`access`, `connections`, `logins`, `session_rules`, `users`, `history_store`).
`drift.WRITTEN_AGAINST` holds a hash of every asyncua 2.1.0 method below; the same test
fails, naming the method, when the installed asyncua differs. "Upstream" marks what belongs
in asyncua itself.

Overrides (class: method — why)

access.PlantRuleset (PermissionRuleset)
  check_validity          roles for services: `access.allowed_actions` (anonymous = users).
access.PlantAttributeService (AttributeService)
  read                    TimestampsToReturn honoured, User* attributes per role (`access.shape_read`).
                          Upstream: asyncua ignores TimestampsToReturn.
  write                   Value writes to plant tags go to the PLC (the `write_tag` hook).
channel.StrictSecureConnection (SecureConnection)
  select_policy           only offered policies; None for discovery only (`connections.select_policy`).
                          Upstream: asyncua keeps its initial None policy when nothing matches.
history.HistoryFeed (Subscription)
  __init__, _deliver      [private] history's internal subscription feeds the queue directly
                          (asyncua starts a task per notification).
history.PlantHistory (HistorySQLite)
  __init__, init, stop    bounded batched writer (`history_store.HistoryQueue`), runs kept apart.
  save_node_value, save_event   enqueue instead of one task and one commit per value. Upstream.
  new_historized_event    remembers the event types and count per source.
  _get_table_name         [private] table names safe for string NodeIds ('Plant/Line/...'). Upstream.
  _get_event_fields       [private] asyncua lists some AlarmConditionType fields twice. Upstream.
publishing.BoundedSubscription (InternalSubscription; clients' subscriptions become one, `bound_notifications`)
  _pop_triggered_datachanges, _pop_publish_result   [private] at most `max_notifications_per_publish`
                          per response, with MoreNotifications. Upstream: asyncua ignores
                          MaxNotificationsPerPublish and has no server maximum.
processor.PlantProcessor (UaProcessor)
  __init__                StrictSecureConnection instead of asyncua's.
  process                 Hello first and once (`connections.hello_refusal`), channel certificate
                          checked against the trust list, refusals logged with the peer.
                          Upstream: asyncua checks only CreateSession's certificate.
  _process_message        [private] request sizes checked before decoding (`peek`, `request_limits`),
                          sessions bound to their channel, Create/Activate checked,
                          password logins off the loop (`logins.check_login`), RegisterServer refused.
                          Upstream: asyncua serves any session's token on any channel.
                          BrowseNext dispatched here (asyncua's processor answers
                          BadServiceUnsupported). Upstream.
  _session_watchdog_loop  [private] disabled: sessions time out by themselves.
  send_response           counts the response first (`traffic`: refusals by kind and status
                          code, notifications sent) for the metrics.
  close                   orphaned sessions with subscriptions wait to be taken over
                          (`session_rules.closes_with_connection`).
server.PlantUaServer (Server)
  start                   COPY of Server.start (asyncua 2.1.0) with PlantBinaryServer instead of
                          BinaryServer. Upstream: a binary-server factory would remove the copy.
sessions.PlantSession (InternalSession)
  __init__                unguessable auth tokens (asyncua counts up from 1000). Upstream.
  create_subscription, create_monitored_items   per-session limits (`session_rules`); items
                          created `notifications_per_slice` at a time (`slicing.Slices`).
  delete_subscriptions, modify_subscription, set_publishing_mode, republish,
  modify_monitored_items, delete_monitored_items, set_monitoring_mode, publish
                          only the session's own subscriptions. Upstream: any session may use any id.
  transfer_subscriptions  only from a session of the same user (`session_rules.same_user`). Upstream.
  close_session           the session leaves the server's count.
  read, call              as this session's user (`access.CALLER`).
  history_read            the response's values shared among its nodes (`request_limits`).
  browse, browse_next     Browse continuation points (`browse_points`): results cut to
                          RequestedMaxReferencesPerNode and max_references_per_node, BrowseNext
                          continues or releases. Upstream: asyncua 2.1 has no BrowseNext.
  create_subscription, modify_subscription, create/modify_monitored_items
                          publishing and sampling intervals revised up to the minimums. Upstream.
sessions.PlantInternalServer (InternalServer)
  __init__                the limits, the login throttle, the session count.
  create_session          PlantSession; `session_rules.session_refused`.
transport.PlantProtocol (OPCUAProtocol)
  connection_made         COPY of OPCUAProtocol.connection_made (asyncua 2.1.0) with PlantProcessor,
                          plus the connection limit (oldest idle connection evicted). Upstream: a
                          processor factory would remove the copy.
  _activation_watchdog    [private] Hello within hello_timeout_s, activation within activation_timeout_s.
  data_received           chunks larger than announced are refused at the header
                          (`connections.chunk_refused`). Upstream: asyncua waits for the whole size.
transport.PlantBinaryServer (BinaryServer)
  _make_protocol          [private] PlantProtocol.
  stop                    closes every transport (asyncua leaves clients open).
users.PlantUserManager (UserManager)
  get_user                `users.user_for` (store, VERIFIED off-loop check, anonymous as viewer).

Replaced process-wide (fastpath.install, called by the daemon and the test harness)
  MonitoredItemValues.set_current_datavalue   no deep copy of scalar DataValues.
  MonitoredItemService.datachange_callback    notification built once. Upstream: both are pure cost.

Replaced on an instance (server.attach_history)
  HistoryManager._sub            [private] the HistoryFeed instead of a subscription with a handler.
  HistoryManager.read_history    `history_service.HistoryService.read_history` (paged, BadNodeIdUnknown,
                                 processed reads). Upstream: asyncua truncates silently.

Private members read (why): SecureConnection._policies (offered policies);
InternalSubscription._triggered_datachanges, _publishing_enabled (publishing);
MonitoredItemService._monitored_datachange, _monitored_items, _is_data_changed,
_is_deadband_exceeded (fastpath; item counts per subscription); HistorySQLite._db, _db_file,
_datachanges_period, _format_event (the batched writer, history_service's reads through
PlantHistory.db/historized/table_name); UaProcessor._connection, _closing, _limits, _transport;
Server._application_uri, _setup_server_nodes, _get_bind_socket_info, _policies (the copied
start); BinaryServer._server, _policies (the bound port; the protocol factory);
InternalSession._timeout_task, _start_timeout_watchdog (orphans' shorter timeout);
OPCUAProtocol._task, _activation_watchdog_task, _buffer, _process_received_message_loop (the
copied connection_made, the chunk check). `drift.PRIVATE_MEMBERS` lists them for the test.

Also in the wall: fanout.write_value (a Value write whose data-change callbacks run over a
snapshot in slices; relies on AddressSpace.write_attribute_value not pausing without callbacks.
Upstream), peek.counts (a request's operation counts read from its encoded body),
server.value_now/set_value_now (a node's value attribute, no callbacks),
server.endpoint_port (the port actually bound), stats.load_of (the load for the metrics:
subscriptions' queued notifications and unacknowledged messages, processors' waiting Publish
requests: InternalSubscription._triggered_events, _not_acknowledged_results,
UaProcessor._publish_requests).

Type checking: `make check` runs mypy a second time with mypy_wall.ini, which follows asyncua's
annotations for this package (the first run treats asyncua as Any).
"""
