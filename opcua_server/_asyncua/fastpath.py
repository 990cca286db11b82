"""Two trims of asyncua's data-change hot path, applied by `install()` (the daemon and the
test harness call it; importing changes nothing).

With 2,000 tags changing every scan and ten subscribed clients, asyncua's monitored-item
callback runs 200,000 times a second; two of its costs do nothing for us:

* `MonitoredItemValues.set_current_datavalue` deep-copies every value for every monitored
  item. A DataValue holding a scalar shares nothing mutable (the tag sync builds a new one
  for every change), so it is kept as it is; anything else is still copied.
* `MonitoredItemService.datachange_callback` builds a MonitoredItemNotification with a
  default DataValue (a Variant whose type is guessed) only to overwrite it. Here the
  notification is built with its value; every other step is asyncua's, in asyncua's order.

Both keep asyncua's behaviour: the subscription, history and interop tests run on them.
"""

from __future__ import annotations

import copy
from datetime import datetime

from asyncua import ua
from asyncua.server.monitored_item_service import MonitoredItemService, MonitoredItemValues

_SCALARS = (int, float, str, bool, type(None), datetime)
_original_callback = MonitoredItemService.datachange_callback
ORIGINALS = {"asyncua.server.monitored_item_service:MonitoredItemValues.set_current_datavalue":
             MonitoredItemValues.set_current_datavalue,
             "asyncua.server.monitored_item_service:MonitoredItemService.datachange_callback": _original_callback}
"""asyncua's methods that `install()` replaces, as they were before (for the drift test)."""


def _set_current_datavalue(self: MonitoredItemValues, cur_val: ua.DataValue) -> None:
    self.old_dvalue = self.current_dvalue
    value = cur_val.Value.Value if cur_val.Value is not None else None
    self.current_dvalue = cur_val if isinstance(value, _SCALARS) else copy.deepcopy(cur_val)


async def _datachange_callback(self: MonitoredItemService, handle: int, value: ua.DataValue,
                               error: ua.StatusCode | None = None) -> None:
    if error:
        await _original_callback(self, handle, value, error)
        return
    mid = self._monitored_datachange[handle]
    mdata = self._monitored_items[mid]
    if mdata.mode == ua.MonitoringMode.Disabled:
        return
    mdata.mvalue.set_current_datavalue(value)
    if mdata.filter:
        changed = self._is_data_changed(mdata.mvalue, mdata.filter.Trigger) and self._is_deadband_exceeded(
            mdata.mvalue, mdata.filter)
    else:
        changed = self._is_data_changed(mdata.mvalue, ua.DataChangeTrigger.StatusValue)
    if changed:
        await self.isub.enqueue_datachange_event(mid, ua.MonitoredItemNotification(mdata.client_handle, value),
                                                 mdata.queue_size)


def install() -> None:
    """Process-wide and idempotent: patch asyncua's two methods."""
    MonitoredItemValues.set_current_datavalue = _set_current_datavalue  # type: ignore[method-assign]
    MonitoredItemService.datachange_callback = _datachange_callback  # type: ignore[method-assign]


def installed() -> bool:
    return MonitoredItemService.datachange_callback is _datachange_callback  # type: ignore[comparison-overlap]
