"""Scenario 6: the rendered folder under a kustomize overlay (another namespace, a label, see
fixtures/overlay) still forms a healthy cluster. The stream comes from `kubectl kustomize`."""

from __future__ import annotations

import pathlib

import pytest

import render
from emulator.manifests import kustomize_build, load_documents
from scenarios import Deployment

OVERLAY = pathlib.Path(__file__).resolve().parent / "fixtures" / "overlay"
PROFILES = render.cluster_profiles()


@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_6_kustomize_overlay_forms(profile, runtime, redkube_bin, kubectl, tmp_path,
                                   figures_sink):
    rendered = render.render_profile(redkube_bin, profile, tmp_path / "rendered")
    overlay = render.kustomize_overlay(rendered, OVERLAY, tmp_path)
    objects = load_documents(kustomize_build(overlay))
    namespace = {o["metadata"].get("namespace") for o in objects} - {None}
    assert len(namespace) == 1, f"the overlay left several namespaces: {namespace}"
    namespace = namespace.pop()
    assert namespace != rendered.namespace
    assert all(o["metadata"].get("labels", {}).get("e2e.redkube.io/overlay") == "true"
               for o in objects)
    # A Secret the user made by hand is made again in the new namespace.
    extra = [dict(o, metadata=dict(o["metadata"], namespace=namespace))
             for o in rendered.extra_objects]
    dep = Deployment(runtime, rendered, extra + objects, name=f"{profile.stem}-overlay",
                     namespace=namespace)
    figures_sink.append(dep.figures)
    try:
        dep.form()
        dep.write(100)
    finally:
        dep.cluster.close()
