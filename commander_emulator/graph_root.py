"""The root of every absolute property path: `/projects`, `/jobs`, `/jobSteps`, `/users`, `/plugins`,
`/server`."""

from __future__ import annotations

from typing import Optional

from .job_graph import JobNode, JobStepNode, job_node, job_step_node
from .model import Store
from .property_graph import (
    CollectionNode,
    Node,
    PluginNode,
    ProjectNode,
    ServerNode,
    UserNode,
    plugin_node,
    project_node,
)


class RootNode(Node):
    name = ""
    label = "the server root"

    def __init__(self, store: Store) -> None:
        self.store = store

    def collection_member(self, name: str) -> Optional[Node]:
        s = self.store
        if name == "projects":
            return CollectionNode("projects", "projects", lambda n: project_node(s, n),
                                  lambda: [ProjectNode(s, p) for p in s.projects.values()])
        if name == "jobs":
            return CollectionNode("jobs", "jobs", lambda n: job_node(s, n),
                                  lambda: [JobNode(j) for j in s.jobs.values()])
        if name == "jobSteps":
            return CollectionNode("jobSteps", "job steps", lambda n: job_step_node(s, n),
                                  lambda: [JobStepNode(js) for js in s.job_steps.values()])
        if name == "users":
            return CollectionNode("users", "users",
                                  lambda n: UserNode(s.users[n]) if n in s.users else None,
                                  lambda: [UserNode(u) for u in s.users.values()])
        if name == "plugins":
            return CollectionNode("plugins", "plugins", lambda n: plugin_node(s, n),
                                  lambda: [PluginNode(s, p) for p in s.plugins.values() if p.promoted])
        if name == "server":
            return ServerNode(s)
        return None
