"""Interop: mosaic's tracks, labels and frames in the file formats of the lab's other tools.

One module per format, each importing its optional dependency only when called:

* :mod:`mosaic.interop.movement` — movement's poses ``xarray.Dataset`` / netCDF (both ways);
* :mod:`mosaic.interop.nwb` — NWB with ndx-pose ``PoseEstimation`` (+ labels as intervals), both ways
  (writing in :mod:`~mosaic.interop.nwb_write`);
* :mod:`mosaic.interop.boris` — predictions or labels as a BORIS project for review;
* :mod:`mosaic.interop.labelling` — DeepLabCut / SLEAP labelling projects from a frame run, and
  labelled frames back as keypoint labels (:mod:`~mosaic.interop.dlc_project`,
  :mod:`~mosaic.interop.sleap_project`, over the frame table of :mod:`~mosaic.interop.frame_run`).

The dataset-level entry points are in :mod:`mosaic.interop.api`; labelled frames imported into a
dataset are stored by :mod:`mosaic.interop.keypoint_labels`. The optional packages come with ``pip install 'mosaic[interop]'``.
"""
