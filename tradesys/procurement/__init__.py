"""The procurement workflow from registration (项目登记) to the bid deadline (投标截止)."""
