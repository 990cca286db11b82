"""What the wall was written against: a hash of the source of every asyncua method that a
wall class overrides, that `fastpath` replaces or that the wall copies or relies on, as
asyncua 2.1.0 has it; and the checks that tests/boundary/test_asyncua_wall.py runs with
them (the installed method's hash, the base method still there with a signature the
override accepts, the private members still defined).

When asyncua changes one of these, the test names it: read the new source, adapt the wall,
then record the new hash here (`python -m opcua_server._asyncua.drift` prints them all)."""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

ASYNCUA_VERSION = "2.1.0"

WALL_MODULES = ("access", "channel", "history", "processor", "publishing", "server", "sessions", "transport", "users")

REPLACED = ("asyncua.server.history:HistoryManager.read_history",)
"""Methods replaced on an instance (`server.attach_history`)."""

RELIED_ON = ("asyncua.server.history:HistoryManager.historize_data_change",
             "asyncua.server.history:HistoryManager.historize_event",
             "asyncua.server.address_space:AddressSpace.write_attribute_value")
"""Methods the wall does not override but whose use of a replaced member it depends on
(`_sub`: the feed set by `server.attach_history` is used when it is there), or whose way of
running callbacks it depends on (`fanout.write_value`: no pause without callbacks)."""

PRIVATE_MEMBERS = frozenset({
    ("asyncua.common.connection:SecureConnection", "_policies"),
    ("asyncua.server.monitored_item_service:MonitoredItemService", "_monitored_datachange"),
    ("asyncua.server.monitored_item_service:MonitoredItemService", "_monitored_items"),
    ("asyncua.server.monitored_item_service:MonitoredItemService", "_is_data_changed"),
    ("asyncua.server.monitored_item_service:MonitoredItemService", "_is_deadband_exceeded"),
    ("asyncua.server.history_sql:HistorySQLite", "_db"),
    ("asyncua.server.history_sql:HistorySQLite", "_db_file"),
    ("asyncua.server.history_sql:HistorySQLite", "_datachanges_period"),
    ("asyncua.server.history_sql:HistorySQLite", "_format_event"),
    ("asyncua.server.history:HistoryManager", "_sub"),
    ("asyncua.server.internal_subscription:InternalSubscription", "_triggered_datachanges"),
    ("asyncua.server.internal_subscription:InternalSubscription", "_publishing_enabled"),
    ("asyncua.server.internal_subscription:InternalSubscription", "_triggered_events"),
    ("asyncua.server.internal_subscription:InternalSubscription", "_not_acknowledged_results"),
    ("asyncua.server.uaprocessor:UaProcessor", "_publish_requests"),
    ("asyncua.server.uaprocessor:UaProcessor", "_connection"),
    ("asyncua.server.uaprocessor:UaProcessor", "_closing"),
    ("asyncua.server.uaprocessor:UaProcessor", "_limits"),
    ("asyncua.server.uaprocessor:UaProcessor", "_transport"),
    ("asyncua.server.server:Server", "_application_uri"),
    ("asyncua.server.server:Server", "_setup_server_nodes"),
    ("asyncua.server.server:Server", "_get_bind_socket_info"),
    ("asyncua.server.server:Server", "_policies"),
    ("asyncua.server.binary_server_asyncio:BinaryServer", "_server"),
    ("asyncua.server.binary_server_asyncio:BinaryServer", "_policies"),
    ("asyncua.server.internal_session:InternalSession", "_timeout_task"),
    ("asyncua.server.internal_session:InternalSession", "_start_timeout_watchdog"),
    ("asyncua.server.binary_server_asyncio:OPCUAProtocol", "_task"),
    ("asyncua.server.binary_server_asyncio:OPCUAProtocol", "_activation_watchdog_task"),
    ("asyncua.server.binary_server_asyncio:OPCUAProtocol", "_buffer"),
    ("asyncua.server.binary_server_asyncio:OPCUAProtocol", "_process_received_message_loop"),
})
"""(asyncua class, private member) read or written by the wall."""

WRITTEN_AGAINST: dict[str, str] = {
    "asyncua.common.connection:SecureConnection.select_policy":
        "14ce611ee5278fb4d72ea102a635689eed9bb4d217165342fe49d47a0b289f77",
    "asyncua.common.subscription:Subscription.__init__":
        "d3f0a895d8c66b5757d0e871af2ec374991529c426e26dd9fe8cc9b2da30915e",
    "asyncua.common.subscription:Subscription._deliver":
        "0dec6261265d206f0dad214ea4d1bc09f41929a86beca7fb02b89d76cf9e1a0d",
    "asyncua.crypto.permission_rules:PermissionRuleset.check_validity":
        "86b0d2613d494a7599ce70ba219fd2d759dd6e2f93dcc2ead9eca11dbf54c7dc",
    "asyncua.server.internal_session:InternalSession.browse":
        "21c8706f4878b2b4d269e144de20dec9c4f94a6b6816ae71874a3f0f6619a268",
    "asyncua.server.internal_session:InternalSession.browse_next":
        "e43c835dee1f6cddb47d4eaa4f5bf0b50cb8cd0c509459099154232940443fb8",
    "asyncua.server.internal_subscription:InternalSubscription._pop_publish_result":
        "d0b2c1cbabd63242323efdcb99b841dac43d959fc21845db8205e972a88a3962",
    "asyncua.server.internal_subscription:InternalSubscription._pop_triggered_datachanges":
        "389b54d977b544ac0557cd68fed74edd6a96d496871dfd956cddd717971b3f02",
    "asyncua.server.address_space:AddressSpace.write_attribute_value":
        "145bef64c3c32cef6e605664b6cbac309cb16bac137819af29ed27a6427139e4",
    "asyncua.server.address_space:AttributeService.__init__":
        "ee4db81e155af433bb36612e61c8395b779a0d1e94c52781788bf6701e4217cb",
    "asyncua.server.address_space:AttributeService.read":
        "ab35e1272b769e7a324428ea5c4a393490edbba478f9e678f518e142c2e9f39d",
    "asyncua.server.address_space:AttributeService.write":
        "69d22d94877ac1e01e57f35974fbfb3f1a94d905d83b2442a5d89db4bb3b4059",
    "asyncua.server.binary_server_asyncio:BinaryServer._make_protocol":
        "bf77b8a5e19815d2604c9f51beab542765d6e438b28a0940c10da52f0b9c8400",
    "asyncua.server.binary_server_asyncio:BinaryServer.stop":
        "ddae6764214304ffcae76d5aade2d4eb39e170d0895d06c1931801b616139574",
    "asyncua.server.binary_server_asyncio:OPCUAProtocol._activation_watchdog":
        "a12a41e10287fc2dc9974dfb7e6df50673242c12106641436ed954cba1d55d0a",
    "asyncua.server.binary_server_asyncio:OPCUAProtocol.connection_made":
        "13faa7a693879d58161fe8f0b5d9f3070caae89c2ce7c81e08ece36df6e9f33a",
    "asyncua.server.binary_server_asyncio:OPCUAProtocol.data_received":
        "bfab9b5ee9baf99918f6babf2840a077b985aa825cf4f789950923871fe2e5cb",
    "asyncua.server.history:HistoryManager.historize_data_change":
        "c2fd7ca263b93c4c13d3ec577d18cf4402b75bd2c46bfa657df540698162eec1",
    "asyncua.server.history:HistoryManager.historize_event":
        "b194ddc2713259343fa40e0c86a665be7aa3baba40f923f7dc0221d6bcfcf921",
    "asyncua.server.history:HistoryManager.read_history":
        "8e1cf301bd14f20b104c988be8c331a18409bad84316a24f91e8f8a263f6ff94",
    "asyncua.server.history_sql:HistorySQLite.__init__":
        "1c42a9f736278554c14c685bd4cda398d27bca529f406cc5a11d53238b7178bb",
    "asyncua.server.history_sql:HistorySQLite._get_event_fields":
        "501ee039c3a6f7589ac99617937ded055403ecbecdf55bc62786948e992257ac",
    "asyncua.server.history_sql:HistorySQLite._get_table_name":
        "876ff69e8129d995c9e25541070a79f5f61607f964009d52912912a6acf57523",
    "asyncua.server.history_sql:HistorySQLite.init":
        "f499027591b244617892910676b803e3622ea7d17d30d40d6ac5822793a86bfc",
    "asyncua.server.history_sql:HistorySQLite.new_historized_event":
        "0198bb54fec7c65e0d3d34c83fdfce32117fd2f29a4db1e0bb4fa0c12bf5a053",
    "asyncua.server.history_sql:HistorySQLite.save_event":
        "7e8cf420b3ca4cf1880f4549fd6ef99b315b023eeee3285719de1b9445ddec20",
    "asyncua.server.history_sql:HistorySQLite.save_node_value":
        "c05bd820089d7f210037e44978d758971e48620535b5280c6c44a6d0623b52c5",
    "asyncua.server.history_sql:HistorySQLite.stop":
        "97d281b6807b0c90fca79c6de7228dc554fdec0ce3ee11bb26695d318d7bd524",
    "asyncua.server.internal_server:InternalServer.__init__":
        "e9034735a68bfffd2e76c33c5d614b59490d7073afad64f892ecf8512e7cb0b5",
    "asyncua.server.internal_server:InternalServer.create_session":
        "efcb43a3159e51364d54254577fc270fa9eb3c2775a60488319169d44e72c880",
    "asyncua.server.internal_session:InternalSession.__init__":
        "75df140f3a8f02a472fd45b64d8eebd6246cfcf92bbd010bcb8258fcda7fa165",
    "asyncua.server.internal_session:InternalSession.call":
        "5f3f1130ead77869551a41f20399681eee2f61f375d10d5810987d60fd694007",
    "asyncua.server.internal_session:InternalSession.close_session":
        "c0eba5640fa1d958d0c7b5329fa335cb9d5fd35032c04cb49cc14ca7caddf9b2",
    "asyncua.server.internal_session:InternalSession.create_monitored_items":
        "84c97d37c84560b35e113665fb1340801e13e44c9e44befe1ad91b09e5ab9711",
    "asyncua.server.internal_session:InternalSession.create_subscription":
        "955d19bece66a5530c4b3ca8def3fc9367d1e447e2ffdb54e5991ddfc547aa6c",
    "asyncua.server.internal_session:InternalSession.delete_monitored_items":
        "635072d51985105a89fdc1689b6690b7a099a0fe1ea1ccff94eb5735e876fbd9",
    "asyncua.server.internal_session:InternalSession.delete_subscriptions":
        "d1b603c4c004c7faab6575fbd7fd4d4ef14b9660024b3a72652fdcbabbcfe401",
    "asyncua.server.internal_session:InternalSession.history_read":
        "b95de043b2c0a11fa68a0c1e0ba01f08d479fea11724818bd389c282f5d6779c",
    "asyncua.server.internal_session:InternalSession.modify_monitored_items":
        "1fafe1075adabbac4e82e0c61141165fbcaea043e09a01652d1904e9a25517f7",
    "asyncua.server.internal_session:InternalSession.modify_subscription":
        "c11a47c558ffb1a44e03c177bcfcf12010cf24c2f3afd2c5d69588fede881886",
    "asyncua.server.internal_session:InternalSession.publish":
        "0092b4b353ded57e47b7188601471f4cdaaf3f8238b047c64739aa9c90d3ed63",
    "asyncua.server.internal_session:InternalSession.read":
        "87b0c49b211d13f5a7c4d3a0c8d30428333af36869ad2f4d114ac0379bb48230",
    "asyncua.server.internal_session:InternalSession.republish":
        "f7d9dc7fadb2bbd75b49af0644583bd2538ce92fac924088ba72f0ce79dd6b67",
    "asyncua.server.internal_session:InternalSession.set_monitoring_mode":
        "e4984ece0422429a5aed5db9c45fe61bc8e937d9e12204e2bafa8ab8efa217ea",
    "asyncua.server.internal_session:InternalSession.translate_browsepaths_to_nodeids":
        "50a97fe1e927a2b0b4157bca9baea25291f682f93fa869c1d853316d1fda2168",
    "asyncua.server.internal_session:InternalSession.set_publishing_mode":
        "5da7cb82a58cc78b68da1472396e1b9d5a4217e7eec63f3105adf98aebe60ad3",
    "asyncua.server.internal_session:InternalSession.transfer_subscriptions":
        "eaeca0eb66f7ace33be0db1e3530e40c081530bcff9cf3fc91189cfc20977748",
    "asyncua.server.monitored_item_service:MonitoredItemService.datachange_callback":
        "88c59d4fe94ccba6675de91ef8565b3ac6145becf51ba8e02ce4ac10b4bb74cd",
    "asyncua.server.monitored_item_service:MonitoredItemValues.set_current_datavalue":
        "13c48c2a91f09cee5889255510d200d77452520222699871541c382c21748257",
    "asyncua.server.server:Server.start":
        "9e0571daba39825c30cb3d646382caebe46e95509e96460a1b921bd0a79d6a57",
    "asyncua.server.uaprocessor:UaProcessor.__init__":
        "9ec63867b54528a0d0a31de995db3132ec7863b86bc81b00f9223ec9c891ff29",
    "asyncua.server.uaprocessor:UaProcessor._process_message":
        "781e1faca4c4d0281dc431d4834858095c6240d1f833f510f94f43954b7821bb",
    "asyncua.server.uaprocessor:UaProcessor._session_watchdog_loop":
        "a53b48784b33eb84ee6ed27afafb35489677532ceba9e6a9b33199a00d0b6de7",
    "asyncua.server.uaprocessor:UaProcessor.close":
        "5a4268152d2c8974a168df7b904017c29c6c1ea8d5a86391086b1d0c93035c32",
    "asyncua.server.uaprocessor:UaProcessor.process":
        "be4c4113170fc6e9fcf75066cb3a9441b0b5ea29f9d648cd271c199e0df36df7",
    "asyncua.server.uaprocessor:UaProcessor.send_response":
        "bc3c0ceadb0d4588ec3a7d37c7cfad62cc617907b71c11916e3d04ec9e840022",
    "asyncua.server.user_managers:UserManager.get_user":
        "c28165352fd628c06f446a3204ebc3913168257525567f9b7ab47fbda9bbeb58",
}
"""'module:Class.method' -> `source_hash` of that method in asyncua ASYNCUA_VERSION."""


def resolve(name: str) -> Any:
    """The asyncua object `module:Qualified.name` (a method replaced by fastpath: the original)."""
    from . import fastpath

    if name in fastpath.ORIGINALS:
        return fastpath.ORIGINALS[name]
    module, _, qualname = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = inspect.getattr_static(obj, part)
    return obj


def _function(obj: Any) -> Callable[..., Any]:
    if isinstance(obj, property):
        assert obj.fget is not None
        return obj.fget
    return obj.__func__ if isinstance(obj, staticmethod | classmethod) else obj


def tree_hash(source: str) -> str:
    """sha256 of the syntax tree of `source` (whitespace and comments do not count)."""
    return hashlib.sha256(ast.dump(ast.parse(textwrap.dedent(source))).encode()).hexdigest()


def source_hash(obj: Any) -> str:
    """`tree_hash` of a method's source."""
    return tree_hash(inspect.getsource(_function(obj)))


def _wall_classes() -> Iterator[type]:
    for name in WALL_MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        yield from (c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == module.__name__)


def overrides() -> dict[str, tuple[Any, Any]]:
    """'module:Class.method' of asyncua -> (the wall's or the project's version, asyncua's)."""
    from . import fastpath

    out: dict[str, tuple[Any, Any]] = {}
    for cls in _wall_classes():
        bases = [b for b in cls.__mro__[1:] if b.__module__.split(".")[0] == "asyncua"]
        for attr, ours in vars(cls).items():
            if not (inspect.isfunction(ours) or isinstance(ours, property | staticmethod | classmethod)):
                continue
            owner = next((b for b in bases if attr in vars(b)), None)
            if owner is not None:
                out[f"{owner.__module__}:{owner.__qualname__}.{attr}"] = (ours, vars(owner)[attr])
    patched = {"asyncua.server.monitored_item_service:MonitoredItemValues.set_current_datavalue":
               fastpath._set_current_datavalue,
               "asyncua.server.monitored_item_service:MonitoredItemService.datachange_callback":
               fastpath._datachange_callback}
    for name, ours in patched.items():
        out[name] = (ours, fastpath.ORIGINALS[name])
    return out


def recorded() -> list[str]:
    """Every asyncua method whose source the wall depends on."""
    return sorted({*overrides(), *REPLACED, *RELIED_ON})


def signature_problems(base: Any, ours: Any) -> list[str]:
    """Why a call that fits asyncua's `base` would not fit `ours` (empty when every call fits)."""
    if isinstance(base, property) or isinstance(ours, property):
        return [] if isinstance(base, property) == isinstance(ours, property) else ["property and method mixed"]
    b, o = inspect.signature(_function(base)), inspect.signature(_function(ours))
    kinds = inspect.Parameter
    ours_params = o.parameters
    var_pos = any(p.kind == kinds.VAR_POSITIONAL for p in ours_params.values())
    var_kw = any(p.kind == kinds.VAR_KEYWORD for p in ours_params.values())
    problems = []
    for name, p in b.parameters.items():
        if p.kind in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD):
            if not (var_pos if p.kind == kinds.VAR_POSITIONAL else var_kw):
                problems.append(f"asyncua passes *{name}, the override takes none")
            continue
        mine = ours_params.get(name)
        if mine is None:
            if not ((p.kind != kinds.KEYWORD_ONLY and var_pos) or (p.kind != kinds.POSITIONAL_ONLY and var_kw)):
                problems.append(f"no parameter {name}")
        elif mine.kind != p.kind and kinds.POSITIONAL_OR_KEYWORD not in (mine.kind,):
            problems.append(f"{name} is {mine.kind.description}, asyncua's is {p.kind.description}")
        elif p.default is not kinds.empty and mine.default is kinds.empty:
            problems.append(f"{name} has a default in asyncua, none in the override")
    positional = [n for n, p in b.parameters.items() if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    mine_positional = [n for n, p in ours_params.items() if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    if not var_pos and mine_positional[:len(positional)] != positional[:len(mine_positional)]:
        problems.append(f"positional order {mine_positional} differs from asyncua's {positional}")
    extra = [n for n, p in ours_params.items() if n not in b.parameters and p.default is kinds.empty
             and p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)]
    if extra:
        problems.append(f"the override needs {extra}, which asyncua does not pass")
    return problems


if __name__ == "__main__":
    for name in recorded():
        print(f'    "{name}":\n        "{source_hash(resolve(name))}",')
