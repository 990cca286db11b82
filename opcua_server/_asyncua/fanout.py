"""A Value write whose data-change callbacks run in slices (`slicing.Slices`).

asyncua's `AddressSpace.write_attribute_value` awaits every callback of the node in one
loop over the node's callback dict: 100,000 monitored items on one tag hold the event loop
for the whole fan-out at every change, and yielding inside it is not possible (another
request adding or deleting an item on that node would change the dict under the loop).
Here asyncua's write stores the value with the node's callbacks set aside (so it checks,
stores and fans out to nobody, without yielding), then the callbacks of a snapshot run,
skipping the ones deleted meanwhile, with a pause every `Slices.size`.
Upstream: a fan-out that iterates over a snapshot and can yield."""

from __future__ import annotations

import logging

from asyncua import ua
from asyncua.server.address_space import AddressSpace

from ..slicing import Slices

log = logging.getLogger(__name__)
_VALUE = ua.AttributeIds.Value


async def write_value(aspace: AddressSpace, nodeid: ua.NodeId, dv: ua.DataValue, slices: Slices) -> ua.StatusCode:
    """asyncua's write of the node's Value attribute, the data-change callbacks run in slices."""
    attval = aspace[nodeid].attributes.get(_VALUE)
    if attval is None or attval.value_setter is not None or not attval.datachange_callbacks:
        return await aspace.write_attribute_value(nodeid, _VALUE, dv)
    callbacks, attval.datachange_callbacks = attval.datachange_callbacks, {}
    try:
        status = await aspace.write_attribute_value(nodeid, _VALUE, dv)
    finally:
        callbacks.update(attval.datachange_callbacks)  # empty: asyncua's write does not yield without callbacks
        attval.datachange_callbacks = callbacks
    if status.is_good():
        await _fan_out(callbacks, attval.value, slices)
    return status


async def _fan_out(callbacks: dict, value: ua.DataValue, slices: Slices) -> None:
    """Each callback of the snapshot still registered, as asyncua calls them (an error logged)."""
    for handle, callback in list(callbacks.items()):
        if handle not in callbacks:  # its monitored item was deleted during an earlier pause
            continue
        try:
            await callback(handle, value)
        except Exception:
            log.exception("data-change callback %s failed", handle)
        await slices.done()
