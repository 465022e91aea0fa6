"""The round a request names in its path (``/api/campaigns/{campaign}/…``), resolved once for every route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sweep.deps import SessionDep
from sweep.params import CampaignRef
from sweep.plan.models import Campaign
from sweep.plan.service import campaign_by_ref


def current_campaign(campaign: CampaignRef, session: SessionDep) -> Campaign:
    return campaign_by_ref(session=session, ref=campaign)


CurrentCampaign = Annotated[Campaign, Depends(current_campaign)]
