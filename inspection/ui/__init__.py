"""Server-rendered pages for reviewers: the queue, the task page, stats and exports."""
